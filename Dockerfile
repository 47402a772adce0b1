# The fraudscore image: the console script on Python 3.11; `docker compose` runs it as the scorer.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir /app && useradd --system --no-create-home fraudscore
USER fraudscore
ENTRYPOINT ["fraudscore"]
CMD ["score"]
