"""Transformations, transformation projects and dbt package metadata."""

from __future__ import annotations

from typing import Any

from taps_sandbox.fivetran.core import FivetranCore, RouteSpec
from taps_sandbox.fivetran.values import CONNECTION_SERVICES


class TransformationsArea(FivetranCore):
    """``/v1/transformations`` (with package metadata) and ``/v1/transformation-projects``."""

    def transformation(self, i: int) -> dict[str, Any]:
        """TransformationResponse (DBT_CORE / QUICKSTART variants)."""
        variant = ("DBT_CORE", "QUICKSTART")[i % 2]
        return self._simple("transformations", "TransformationResponse", i, variant, type=variant)

    def transformation_project(self, i: int, detail: bool = False) -> dict[str, Any]:
        """TransformationProjectResponse, or the details model."""
        full = self._simple(
            "transformation_projects",
            "TransformationProjectDetailsResponse",
            i,
            "DBT_CORE",
            type="DBT_CORE",
        )
        if detail:
            return full
        keys = self._filler.schemas["TransformationProjectResponse"]["properties"]
        return {k: full[k] for k in keys if k in full}

    def package_metadata(self, i: int) -> dict[str, Any]:
        """TransformationPackageMetadataResponse."""
        service = CONNECTION_SERVICES[i % len(CONNECTION_SERVICES)]
        return self._simple(
            "package_metadata",
            "TransformationPackageMetadataResponse",
            i,
            name=f"fivetran/{service}",
            connector_types=[service],
            version=f"0.{i + 1}.0",
        )

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """The transformations' routes."""
        seg = r"([^/]+)"
        return [
            *super()._route_table(),
            (r"/v1/transformations", self._r_transformations, True),
            (r"/v1/transformations/package-metadata", self._r_package_metadata, True),
            (
                rf"/v1/transformations/package-metadata/{seg}",
                self._r_detail("package_metadata", self.package_metadata, "PackageMetadata"),
                False,
            ),
            (
                rf"/v1/transformations/{seg}",
                self._r_detail("transformations", self.transformation, "Transformation"),
                False,
            ),
            (
                r"/v1/transformation-projects",
                self._r_list("transformation_projects", self.transformation_project),
                True,
            ),
            (
                rf"/v1/transformation-projects/{seg}",
                self._r_detail(
                    "transformation_projects",
                    lambda i: self.transformation_project(i, detail=True),
                    "TransformationProject",
                ),
                False,
            ),
        ]

    def _r_transformations(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.transformation(i) for i in range(self.counts["transformations"])]
        for param, field in (("type", "type"),):
            if query.get(param):
                items = [t for t in items if t.get(field) == query[param][-1]]
        if query.get("project_id"):
            want = query["project_id"][-1]
            items = [
                t for t in items if (t.get("transformation_config") or {}).get("project_id") == want
            ]
        if query.get("group_id"):
            items = [t for t in items if t.get("group_id") == query["group_id"][-1]]
        return items

    def _r_package_metadata(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.package_metadata(i) for i in range(self.counts["package_metadata"])]
        if query.get("name"):
            items = [p for p in items if p["name"] == query["name"][-1]]
        if query.get("service"):
            items = [p for p in items if query["service"][-1] in p.get("connector_types", [])]
        return items
