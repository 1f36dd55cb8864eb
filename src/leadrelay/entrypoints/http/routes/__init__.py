"""The API's endpoints, one module per subject; :func:`leadrelay.entrypoints.http.app.create_app`
includes each module's ``router``."""
