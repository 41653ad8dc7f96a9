"""Domain errors. Each carries its HTTP status and `code`; rendered as problem details."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the problem details."""
        return {}

    def problem(self) -> dict[str, Any]:
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }


class Unauthenticated(DomainError):
    status, code, title = 401, "UNAUTHENTICATED", "Unauthenticated"


class AdminKeyInvalid(DomainError):
    status, code, title = 401, "ADMIN_KEY_INVALID", "Admin key invalid"


class InvalidCredentials(DomainError):
    status, code, title = 401, "INVALID_CREDENTIALS", "Invalid credentials"


class CsrfRejected(DomainError):
    status, code, title = 403, "CSRF_TOKEN_INVALID", "Cross-site request refused"


class UserBlocked(DomainError):
    status, code, title = 403, "USER_BLOCKED", "User blocked"


class QueueTokenInvalid(DomainError):
    status, code, title = 403, "QUEUE_TOKEN_INVALID", "Queue token invalid"


class QueueNotAdmitted(DomainError):
    status, code, title = 403, "QUEUE_NOT_ADMITTED", "Not admitted yet"


class NotFound(DomainError):
    status, code, title = 404, "NOT_FOUND", "Not found"


class UserNotFound(NotFound):
    code, title = "USER_NOT_FOUND", "User not found"


class ConcertNotFound(NotFound):
    code, title = "CONCERT_NOT_FOUND", "Concert not found"


class ScheduleNotFound(NotFound):
    code, title = "SCHEDULE_NOT_FOUND", "Schedule not found"


class SeatNotFound(NotFound):
    code, title = "SEAT_NOT_FOUND", "Seat not found"


class ReservationNotFound(NotFound):
    code, title = "RESERVATION_NOT_FOUND", "Reservation not found"


class PaymentNotFound(NotFound):
    code, title = "PAYMENT_NOT_FOUND", "Payment not found"


class TicketNotFound(NotFound):
    code, title = "TICKET_NOT_FOUND", "Ticket not found"


class Conflict(DomainError):
    status, code, title = 409, "CONFLICT", "Conflict"


class SaleAlreadyOpen(Conflict):
    code, title = "SALE_ALREADY_OPEN", "Sale already open"


class EmailTaken(Conflict):
    code, title = "EMAIL_TAKEN", "Email taken"


class SeatUnavailable(Conflict):
    code, title = "SEAT_UNAVAILABLE", "Seat unavailable"


class HoldLimitReached(Conflict):
    code, title = "HOLD_LIMIT_REACHED", "Hold limit reached"


class ReservationExpired(Conflict):
    code, title = "RESERVATION_EXPIRED", "Reservation expired"


class ReservationNotPayable(Conflict):
    code, title = "RESERVATION_NOT_PAYABLE", "Reservation not payable"


class ReservationNotCancellable(Conflict):
    code, title = "RESERVATION_NOT_CANCELLABLE", "Reservation not cancellable"


class TicketNotIssued(Conflict):
    code, title = "TICKET_NOT_ISSUED", "Ticket not issued"


class TicketAlreadyUsed(Conflict):
    code, title = "TICKET_ALREADY_USED", "Ticket already used"


class InsufficientBalance(Conflict):
    code, title = "INSUFFICIENT_BALANCE", "Insufficient balance"


class IdempotencyKeyInUse(Conflict):
    code, title = "IDEMPOTENCY_KEY_IN_USE", "Idempotency key in use"


class ValidationFailed(DomainError):
    status, code, title = 422, "VALIDATION_ERROR", "Validation error"


class ChargeOutOfRange(ValidationFailed):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[_amount_error("out of range")])


class BalanceLimitReached(ValidationFailed):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[_amount_error("balance limit")])


def _amount_error(message: str) -> dict[str, Any]:
    # Where the contract's `errors` list points: the charge request's `amount`.
    return {"loc": ["body", "amount"], "msg": message, "type": "value_error"}


class IdempotencyKeyReused(DomainError):
    status, code, title = 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency key reused"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Payload too large"


class RateLimited(DomainError):
    status, code, title = 429, "RATE_LIMITED", "Too many requests"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.extra["retry_after"])}


class ServiceUnavailable(DomainError):
    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"

    # A restarting database or Redis is usually back within seconds; a client that waits this
    # long before retrying does not add to the crowd knocking on a dependency that is down.
    RETRY_AFTER_SECONDS: ClassVar[int] = 1

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.RETRY_AFTER_SECONDS)}
