"""The web application's routes, one router per area."""

from mibgscore.app.routes import admin, exports, health, readings, session, studies, viewer

ROUTERS = (health.router, session.router, studies.router, viewer.router, readings.router,
           exports.router, admin.router)
"""Every router, in the order ``create_app`` includes them."""

__all__ = ["ROUTERS"]
