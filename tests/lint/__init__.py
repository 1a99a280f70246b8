"""The spec lint: OpenAPI, JSON Schemas, examples, the requirement registry, layering."""
