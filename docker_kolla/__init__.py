"""docker-kolla: lock moving Kolla image tags to digests, revision them from git history."""

__version__ = "0.1.0"
