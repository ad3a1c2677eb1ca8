"""segmix: a self-hosted Segment to Mixpanel router."""

__version__ = "0.1.0"
