"""Services: one module per capability; each takes a store transaction, a playbook and `now`."""
