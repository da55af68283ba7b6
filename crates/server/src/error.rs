//! API errors: every failure is `{ "code", "message" }` with a stable code from one table.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vigil_runtime::{ControlError, EngineError};

/// The stable error codes, each with its HTTP status. Clients match on `code`; `message` is for
/// people and may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed or a field is invalid; the message names the field.
    InvalidRequest,
    /// 401: no token, or an unknown or revoked one.
    Unauthorized,
    /// 403: the token's role does not allow this.
    Forbidden,
    /// 404: no such instance, workflow, schedule or other resource.
    NotFound,
    /// 405: the resource does not take this method.
    MethodNotAllowed,
    /// 409: the request conflicts with the resource's state (e.g. retrying a running instance).
    Conflict,
    /// 410: the instance has already ended.
    InstanceEnded,
    /// 413: the request body is larger than the limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 503: vigil is shutting down.
    ShuttingDown,
    /// 500: something failed inside vigil; details are in its log, not in the response.
    Internal,
}

impl ErrorCode {
    /// The HTTP status of the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::InstanceEnded => StatusCode::GONE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// 400 about `field`.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidRequest, format!("`{field}`: {message}"))
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// 500, logged with its cause; the response says only that it failed.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "API request failed inside vigil.");
        Self::new(ErrorCode::Internal, "internal error; see vigil's log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), Json(self)).into_response()
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let code = match &e {
            ControlError::NotFound(_) => ErrorCode::NotFound,
            ControlError::Ended { .. } => ErrorCode::InstanceEnded,
            ControlError::NotEnded { .. } | ControlError::WrongStatus { .. } | ControlError::Refused { .. } => {
                ErrorCode::Conflict
            }
            ControlError::UnknownWorkflow(_) | ControlError::NotRestartable { .. } => ErrorCode::NotFound,
            ControlError::ShuttingDown => ErrorCode::ShuttingDown,
            ControlError::Store(cause) => return ApiError::internal(cause),
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            e @ EngineError::UnknownWorkflow { .. } => ApiError::not_found(e.to_string()),
            e @ EngineError::InvalidDefinition(_) => ApiError::new(ErrorCode::InvalidRequest, e.to_string()),
            EngineError::ShuttingDown => ApiError::new(ErrorCode::ShuttingDown, "vigil is shutting down"),
            EngineError::Forbidden(why) => ApiError::new(ErrorCode::Forbidden, why),
            EngineError::NoPartition => {
                ApiError::new(ErrorCode::ShuttingDown, "this node is joining the cluster; retry")
            }
            EngineError::Store(cause) => ApiError::internal(cause),
            EngineError::Thread(cause) => ApiError::internal(cause),
        }
    }
}

impl From<vigil_store::StoreError> for ApiError {
    fn from(e: vigil_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
