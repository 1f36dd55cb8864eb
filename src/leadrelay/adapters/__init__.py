"""Adapters: the database, playbook files, input files and records, senders, calendars, places, the clock."""
