"""The partner API (issue 17): FastAPI, thin over the services, mounted at /api/v1."""
