"""The ratecard service: storage, refresh pipeline, catalog, estimator and HTTP API."""
