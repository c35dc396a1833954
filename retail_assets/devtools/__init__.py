"""Tools for developing and measuring the platform on one machine, not used by its assets: stand-ins for services
that cannot run here (``eventhubs_double``: a local AMQP 1.0 server the real ``azure-eventhub`` clients talk to)."""
