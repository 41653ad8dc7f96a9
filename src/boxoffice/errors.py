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
    """The bearer token is missing, malformed, badly signed or expired."""

    status, code, title = 401, "UNAUTHENTICATED", "Unauthenticated"

    def headers(self) -> dict[str, str]:
        # A 401 names the scheme it would take (RFC 9110, section 11.6.1).
        return {"WWW-Authenticate": 'Bearer realm="boxoffice"'}


class AdminKeyInvalid(DomainError):
    """The X-Admin-Key header is missing or wrong."""

    status, code, title = 401, "ADMIN_KEY_INVALID", "Admin key invalid"


class InvalidCredentials(DomainError):
    """No user has this email and password (one answer for both)."""

    status, code, title = 401, "INVALID_CREDENTIALS", "Invalid credentials"


class CsrfRejected(DomainError):
    """A change authenticated by the web session cookie came without the X-CSRF-Token header
    matching the CSRF cookie, or from a foreign Origin."""

    status, code, title = 403, "CSRF_TOKEN_INVALID", "Cross-site request refused"


class UserBlocked(DomainError):
    """The operator has blocked this user: they cannot join a line, hold, pay or charge."""

    status, code, title = 403, "USER_BLOCKED", "User blocked"


class QueueTokenInvalid(DomainError):
    """The X-Queue-Token is missing, unknown, expired, or issued to another user or for another
    concert."""

    status, code, title = 403, "QUEUE_TOKEN_INVALID", "Queue token invalid"


class QueueNotAdmitted(DomainError):
    """The queue token is valid but still waiting for its turn; `position` says where it stands."""

    status, code, title = 403, "QUEUE_NOT_ADMITTED", "Not admitted yet"


class NotFound(DomainError):
    """No such resource, or it belongs to another user."""

    status, code, title = 404, "NOT_FOUND", "Not found"


class UserNotFound(NotFound):
    """The user of the token no longer exists."""

    code, title = "USER_NOT_FOUND", "User not found"


class ConcertNotFound(NotFound):
    """No such concert."""

    code, title = "CONCERT_NOT_FOUND", "Concert not found"


class ScheduleNotFound(NotFound):
    """No such schedule."""

    code, title = "SCHEDULE_NOT_FOUND", "Schedule not found"


class SeatNotFound(NotFound):
    """No such seat."""

    code, title = "SEAT_NOT_FOUND", "Seat not found"


class ReservationNotFound(NotFound):
    """No such reservation, or it is another user's."""

    code, title = "RESERVATION_NOT_FOUND", "Reservation not found"


class PaymentNotFound(NotFound):
    """No such payment, or it is another user's."""

    code, title = "PAYMENT_NOT_FOUND", "Payment not found"


class TicketNotFound(NotFound):
    """No valid ticket has this code (forged, altered, or its reservation was cancelled)."""

    code, title = "TICKET_NOT_FOUND", "Ticket not found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status, code, title = 409, "CONFLICT", "Conflict"


class SaleAlreadyOpen(Conflict):
    """The sale has opened: its opening cannot be moved back into the future."""

    code, title = "SALE_ALREADY_OPEN", "Sale already open"


class EmailTaken(Conflict):
    """A user with this email already exists."""

    code, title = "EMAIL_TAKEN", "Email taken"


class SeatUnavailable(Conflict):
    """The seat is held by a live hold or sold."""

    code, title = "SEAT_UNAVAILABLE", "Seat unavailable"


class HoldLimitReached(Conflict):
    """The user already holds BOXOFFICE_HOLD_LIMIT live holds in this schedule."""

    code, title = "HOLD_LIMIT_REACHED", "Hold limit reached"


class ReservationExpired(Conflict):
    """The hold's `expires_at` has passed."""

    code, title = "RESERVATION_EXPIRED", "Reservation expired"


class ReservationNotPayable(Conflict):
    """The reservation is not a live hold (already paid, or cancelled)."""

    code, title = "RESERVATION_NOT_PAYABLE", "Reservation not payable"


class ReservationNotCancellable(Conflict):
    """The reservation cannot be cancelled (expired, already cancelled, its ticket already used at
    the door, or the show has started)."""

    code, title = "RESERVATION_NOT_CANCELLABLE", "Reservation not cancellable"


class ScheduleClosed(Conflict):
    """The show has started or the operator cancelled it: no hold and no payment is taken."""

    code, title = "SCHEDULE_CLOSED", "Schedule closed"


class TicketNotIssued(Conflict):
    """The reservation is not CONFIRMED, so it has no ticket."""

    code, title = "TICKET_NOT_ISSUED", "Ticket not issued"


class TicketAlreadyUsed(Conflict):
    """The ticket has already been checked in; `checked_in_at` says when."""

    code, title = "TICKET_ALREADY_USED", "Ticket already used"


class InsufficientBalance(Conflict):
    """The balance is below the amount to pay; a FAILED payment is recorded and the hold stays."""

    code, title = "INSUFFICIENT_BALANCE", "Insufficient balance"


class IdempotencyKeyInUse(Conflict):
    """A request with this Idempotency-Key is still being worked on."""

    code, title = "IDEMPOTENCY_KEY_IN_USE", "Idempotency key in use"


class ValidationFailed(DomainError):
    """The body, query, headers or path are malformed; `errors` lists what is wrong."""

    status, code, title = 422, "VALIDATION_ERROR", "Validation error"


class ChargeOutOfRange(ValidationFailed):
    """The amount is out of range (1 to BOXOFFICE_MAX_CHARGE)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[_amount_error("out of range")])


class BalanceLimitReached(ValidationFailed):
    """The charge would take the balance past its maximum."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[_amount_error("balance limit")])


class StartNotInFuture(ValidationFailed):
    def __init__(self, detail: str) -> None:
        super().__init__(
            detail,
            errors=[
                {"loc": ["body", "start_time"], "msg": "not in the future", "type": "value_error"}
            ],
        )


def _amount_error(message: str) -> dict[str, Any]:
    # Where the contract's `errors` list points: the charge request's `amount`.
    return {"loc": ["body", "amount"], "msg": message, "type": "value_error"}


class IdempotencyKeyReused(DomainError):
    """This Idempotency-Key was used with a different request."""

    status, code, title = 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency key reused"


class PayloadTooLarge(DomainError):
    """The body is larger than BOXOFFICE_MAX_BODY_BYTES."""

    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Payload too large"


class RateLimited(DomainError):
    """Too many requests of this kind from this address or user; wait `Retry-After` seconds."""

    status, code, title = 429, "RATE_LIMITED", "Too many requests"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.extra["retry_after"])}


class ServiceUnavailable(DomainError):
    """The database or Redis cannot be reached, or the service is at capacity; nothing was
    changed."""

    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"

    # A restarting database or Redis is usually back within seconds; a client that waits this
    # long before retrying does not add to the crowd knocking on a dependency that is down.
    RETRY_AFTER_SECONDS: ClassVar[int] = 1

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.RETRY_AFTER_SECONDS)}
