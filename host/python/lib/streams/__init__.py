"""The streams host's Python API: pipelines in the DSL of Sentry Streams
(``streams.pipeline``) and the helpers its transforms use. Runs inside the
streams host (the Python bridge puts this directory on sys.path)."""
