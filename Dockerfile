FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY package.json package-lock.json ./
COPY scripts/vendor.mjs scripts/
RUN npm ci --no-audit --no-fund && node scripts/vendor.mjs
COPY . .
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--no-producer"]
