"""`ApiError`: an HTTP error in OpenAI's shape, raised by any part of the service and rendered by the app's handler."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from suho.serve.schemas import ErrorResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param=None,
        code=None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.headers = headers

    def body(self) -> dict:
        """`{"error": {"message", "type", "param", "code"}}`, as OpenAI's clients read it."""
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return ErrorResponse(error=error).model_dump()

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)
