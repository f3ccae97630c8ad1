"""The demo web server (widget and demo pages), for `make run`."""
