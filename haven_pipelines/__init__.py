"""Haven Pipelines: approved artwork to framed mockups to products to Shopify listings.

Layers (imports point down): ``defs`` → ``services`` → (``db``, ``integrations``,
``rendering``) → ``domain``. See README.md for the map.
"""

__version__ = "0.1.0"
