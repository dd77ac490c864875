# bulkpin: the local Decoo-compatible service (and the bulkpin CLI).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# /data is 0700: it holds the accounts' private keys, and a new named volume copies its mode.
RUN pip install --no-cache-dir . && useradd --create-home bulkpin \
    && install -d -o bulkpin -m 700 /data
USER bulkpin
VOLUME /data
EXPOSE 8080 8081
CMD ["bulkpin", "serve", "--data-dir", "/data", "--host", "0.0.0.0", "--cloud-port", "8080", "--endpoint-ports", "8081"]
