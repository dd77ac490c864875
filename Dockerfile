# bulkpin: the local Decoo-compatible service (and the bulkpin CLI).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home bulkpin && mkdir /data && chown bulkpin /data
USER bulkpin
VOLUME /data
EXPOSE 8080 8081
CMD ["bulkpin", "serve", "--data-dir", "/data", "--host", "0.0.0.0", "--cloud-port", "8080", "--endpoint-ports", "8081"]
