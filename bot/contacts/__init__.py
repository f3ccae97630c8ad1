"""Contact cards of the State services and the SPIE status of a département; staff CSV import/export."""
