# The team image: wheels built in one stage, installed in a slim one, run as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY interactions_client ./interactions_client
COPY chatapp ./chatapp
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DEBUG=false \
    VAR_DIR=/data \
    APP_ROOT=/app \
    STATIC_ROOT=/app/staticfiles
RUN useradd --create-home --uid 10001 app && mkdir /data && chown app /data
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY manage.py ./
COPY templates ./templates
COPY locale ./locale
COPY static ./static
# Static files are collected (compressed, cache-busted) into the image with a throwaway key.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput -v 0
USER app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["sh", "-c", "python manage.py migrate --noinput && exec daphne --proxy-headers -b 0.0.0.0 -p 8000 chatapp.asgi:application"]
