"""Senders: e-mail over SMTP (:mod:`.smtp`) and webhooks (:mod:`.webhook`); :mod:`.delivery` picks one per message."""
