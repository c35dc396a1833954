"""Tools for developing and measuring the platform on one machine, not used by its assets: stand-ins for services
that cannot run here (``eventhubs_double``: a local AMQP 1.0 server the real ``azure-eventhub`` clients talk to) and
handmade Gold minute rows at the densest (``minute_rows``). Tests and benchmarks import them; nothing outside the
test package imports the tests."""
