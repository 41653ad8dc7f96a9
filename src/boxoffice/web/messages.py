"""Domain errors in words a fan understands, in the visitor's language."""

from __future__ import annotations

from collections.abc import Callable

from boxoffice.errors import DomainError


def N_(message: str) -> str:
    """Marks a message for the catalog; it is translated where it is shown."""
    return message


_BY_CODE = {
    "UNAUTHENTICATED": N_("Please log in again."),
    "INVALID_CREDENTIALS": N_("That email and password do not match an account."),
    "USER_BLOCKED": N_("This account is blocked. Please contact the box office."),
    "QUEUE_TOKEN_INVALID": N_("Your place in line has ended. Join the line again."),
    "QUEUE_NOT_ADMITTED": N_("It is not your turn yet. Please wait in line."),
    "USER_NOT_FOUND": N_("This account no longer exists."),
    "CONCERT_NOT_FOUND": N_("There is no such concert."),
    "SCHEDULE_NOT_FOUND": N_("There is no such date."),
    "SEAT_NOT_FOUND": N_("There is no such seat."),
    "RESERVATION_NOT_FOUND": N_("There is no such reservation."),
    "EMAIL_TAKEN": N_("An account with this email already exists. Log in instead."),
    "SEAT_UNAVAILABLE": N_("This seat was just taken. Please choose another one."),
    "HOLD_LIMIT_REACHED": N_("You already hold as many seats as one person may."),
    "RESERVATION_EXPIRED": N_("Your hold has expired and the seat went back on sale."),
    "RESERVATION_NOT_PAYABLE": N_("This reservation can no longer be paid."),
    "RESERVATION_NOT_CANCELLABLE": N_("This reservation can no longer be cancelled."),
    "SCHEDULE_CLOSED": N_("Sales for this date have closed."),
    "TICKET_NOT_ISSUED": N_("The ticket is issued once the reservation is paid."),
    "INSUFFICIENT_BALANCE": N_("Your balance is too low. Charge your balance and try again."),
    "VALIDATION_ERROR": N_("Some of what you entered is not valid. Please check it."),
    "RATE_LIMITED": N_("Too many tries. Please wait a minute and try again."),
    "SERVICE_UNAVAILABLE": N_("The service is busy right now. Please try again in a moment."),
}
_FALLBACK = N_("Something went wrong. Please try again.")

# Messages the pages write themselves, kept here so that each is written once.
SEAT_TAKEN = N_("Seat %(seat)s was just taken")
CROSS_SITE = N_("This form expired. Please try again.")
PAGE_NOT_FOUND = N_("This page does not exist.")
CHARGED = N_("Your balance has been charged.")
CHARGE_RANGE = N_("Enter an amount in won between 1 and %(max)s.")
ADMIN_KEY_WRONG = N_("That admin key is not right.")
TITLE_NEEDED = N_("Give the concert a title of at most 200 characters.")
DURATION_RANGE = N_("The duration is a whole number of minutes, less than a day.")
TIME_UNREADABLE = N_("Enter a date and time, for example 2026-12-24 19:00.")
START_IN_FUTURE = N_("A date must be in the future.")
SEAT_COUNT_RANGE = N_("The number of seats is a whole number from 1 to 100,000.")
PRICE_RANGE = N_("The price is a whole number of won, 0 or more.")
SCHEDULE_CANCELLED = N_("The date is cancelled: its holds ended and every ticket was refunded.")
PAID = N_("Payment complete. Your ticket is below.")
CANCELLED = N_("Your ticket was cancelled and %(amount)s won was refunded to your balance.")
ADMISSION_ENDED = N_(
    "Your turn to buy has ended. Join the line again to pay for this seat while it is held."
)


def explain(error: DomainError, gettext: Callable[[str], str]) -> str:
    return gettext(_BY_CODE.get(error.code, _FALLBACK))


def explain_code(code: str, gettext: Callable[[str], str]) -> str:
    return gettext(_BY_CODE.get(code, _FALLBACK))
