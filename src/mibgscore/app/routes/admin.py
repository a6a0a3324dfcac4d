"""Administration: the users page and the users API (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from mibgscore.app.db import User
from mibgscore.app.routes.deps import admin_user, page, services
from mibgscore.app.users import add_user, list_users

router = APIRouter()


class UserIn(BaseModel):
    username: str
    password: str
    role: str = "reader"
    language: str = "en"


@router.get("/admin/users", include_in_schema=False, response_class=HTMLResponse)
def users_page(request: Request, user: User = Depends(admin_user)):
    users = list_users(services(request).store, order_by="username")
    return page(request, "users.html", user, users=users)


@router.get("/api/users", tags=["users"])
def get_users(request: Request, _admin: User = Depends(admin_user)) -> list[dict]:
    """All users (admin)."""
    return list_users(services(request).store)


@router.post("/api/users", tags=["users"], status_code=201)
def create_user(request: Request, body: UserIn, _admin: User = Depends(admin_user)) -> dict:
    """Create a user or reset one's password (admin)."""
    u = add_user(services(request).store, body.username, body.password, body.role,
                 body.language)
    return {"username": u.username, "role": u.role}
