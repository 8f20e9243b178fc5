"""tongban's thin Flask layer: application factory, config layering, blueprints and the CLI."""
from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask

from . import bounds, runtime
from .api import register_api
from .errors import register_error_handlers
from .json_body import install_text_guard
from .request_limits import install_upload_limit
from .pages import register_pages
from .security import configure_sessions


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then ``TONGBAN_*`` env vars, then test overrides."""
    app = Flask(__name__, instance_relative_config=True)
    bounds.install(app)  # before any route: <int:...> and type=int stop where the columns do (app/bounds.py)
    install_upload_limit(app)  # multipart material uploads may exceed 10 MB; before any hook reads a body
    install_text_guard(app)  # no U+0000 (PostgreSQL stores none) nor direction override in a query or form field
    app.config.from_mapping(
        SECRET_KEY=None,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        TONGBAN_DATABASE_URL=f"sqlite:///{os.path.join(app.instance_path, 'tongban.sqlite')}",
        API_TITLE="tongban 通办 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/vendor/swagger-ui-dist/",
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(prefix="TONGBAN", loads=_keep_strings)
    _mirror_prefixed(app)
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.urandom(32)
    configure_sessions(app)
    runtime.init_app(app)
    register_error_handlers(app)
    register_api(app)
    register_pages(app)
    from .applicant_wall import install as install_applicant_wall
    install_applicant_wall(app)
    from .vendor import bp as vendor_bp
    app.register_blueprint(vendor_bp)
    from .cli import register_cli
    register_cli(app)
    return app


def _keep_strings(value: str) -> str:
    return value


def _mirror_prefixed(app: Flask) -> None:
    # from_prefixed_env strips the prefix (TONGBAN_DATABASE_URL -> DATABASE_URL); the engine reads the
    # prefixed names, so copy them back under their full names.
    for key in list(app.config):
        full = f"TONGBAN_{key}"
        if key.isupper() and os.environ.get(full) is not None:
            app.config[full] = app.config[key]
