from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from boxoffice.api import Db, path_id, problems
from boxoffice.auth import CurrentUserId
from boxoffice.idempotency.http import IdempotencyKey, fingerprint, run_idempotently
from boxoffice.idempotency.store import Claim
from boxoffice.payments import service
from boxoffice.payments.schemas import PayIn, PaymentOut
from boxoffice.queue.gate import QueueToken, Room
from boxoffice.queue.service import admitted_concert

router = APIRouter(tags=["payments"])

PaymentId = Annotated[int, path_id("Payment id")]


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses=problems(401, 403, 404, 409),
)
async def pay(
    request: Request,
    body: PayIn,
    user_id: CurrentUserId,
    db: Db,
    room: Room,
    queue_token: QueueToken = None,
    idempotency_key: IdempotencyKey = None,
) -> PaymentOut | JSONResponse:
    async def gated_payment(claim: Claim | None) -> PaymentOut:
        admitted_to = await admitted_concert(room, queue_token, user_id)
        return await service.pay(db, room, user_id, body.reservation_id, admitted_to, claim)

    # A replay is answered before the gate: a retried payment gets its first answer even
    # though that payment has since ended the queue admission.
    return await run_idempotently(
        db, user_id, idempotency_key, fingerprint(request, body), gated_payment
    )


@router.get("/payments/{payment_id}", responses=problems(401, 404))
async def get_payment(payment_id: PaymentId, user_id: CurrentUserId, db: Db) -> PaymentOut:
    return await service.get_payment(db, user_id, payment_id)
