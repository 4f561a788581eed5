"""Dynamic Mockups, the paid remote renderer: client, typed values and errors.

``client`` talks to the v1 API; ``batching`` spreads many renders over the batch endpoint;
``models`` and ``errors`` are what callers handle; ``download`` holds the policy of which export
URLs may be fetched.
"""

from haven_pipelines.integrations.dynamic_mockups.client import DEFAULT_BASE_URL, DynamicMockupsClient
from haven_pipelines.integrations.dynamic_mockups.download import DownloadPolicy
from haven_pipelines.integrations.dynamic_mockups.errors import (
    ApiUnreachable,
    AuthenticationError,
    DownloadError,
    DynamicMockupsError,
    InsufficientCredits,
    InvalidRequest,
    MalformedResponse,
    MockupNotFound,
    RateLimited,
    RenderFailed,
    ServerError,
)
from haven_pipelines.integrations.dynamic_mockups.models import (
    MockupTemplate,
    RenderOutcome,
    RenderRequest,
    RenderResult,
    SmartObject,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiUnreachable",
    "AuthenticationError",
    "DownloadError",
    "DownloadPolicy",
    "DynamicMockupsClient",
    "DynamicMockupsError",
    "InsufficientCredits",
    "InvalidRequest",
    "MalformedResponse",
    "MockupNotFound",
    "MockupTemplate",
    "RateLimited",
    "RenderFailed",
    "RenderOutcome",
    "RenderRequest",
    "RenderResult",
    "ServerError",
    "SmartObject",
]
