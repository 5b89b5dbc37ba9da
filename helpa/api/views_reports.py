"""Report figures (reports/): the registered reports, and one report's figures as JSON for the
same query parameters as its page. A report counts only the tickets (and time, answers) of the
queues its reader may open (reports/access.py), exactly as on the pages, which every agent may
see."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpa.reports import facts
from helpa.reports.periods import PRESETS
from helpa.reports.report import REPORTS, ParamsError, kinds

from . import serializers
from .filters import check_params


class ReportList(APIView):
    """The reports (not paged: a handful)."""

    @extend_schema(responses=serializers.ReportKindSerializer(many=True))
    def get(self, request: Request) -> Response:
        check_params(request.query_params, ())
        data = serializers.ReportKindSerializer(
            kinds(), many=True, context={"request": request}
        ).data
        return Response(data)


class ReportDetail(APIView):
    """One report's figures. Its query parameters are its page's (the period — `period`, or
    `from` and `to` — and the page's filters and groupings); parameters it cannot use answer
    400 with the page's messages."""

    @extend_schema(
        responses=serializers.ReportSerializer,
        parameters=[
            OpenApiParameter("period", str, enum=list(PRESETS)),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
    )
    def get(self, request: Request, name: str) -> Response:
        kind = REPORTS.get(name)
        if kind is None:
            raise Http404
        if name == "statistics":
            # As before the statistics page: figures at most a minute behind without a worker.
            facts.refresh_if_stale()
        try:
            report = kind.build(request.user, request.query_params)
        except ParamsError as exc:
            raise ValidationError(
                {("non_field_errors" if k == "__all__" else k): v for k, v in exc.errors.items()}
            ) from exc
        return Response(serializers.ReportSerializer(report, context={"key": name}).data)
