"""The names of Sentry Streams' package, so that a pipeline file written for
it runs here unchanged: each module re-exports its ``streams`` counterpart."""
