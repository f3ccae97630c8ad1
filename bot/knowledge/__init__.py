"""Facts of the call: dates, counts, history; `fill_facts` for every answer text."""
