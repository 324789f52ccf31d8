"""AWS Lambda entry point: the same FastAPI app behind Mangum, which turns
API Gateway, function URL and ALB events into ASGI requests. The model is
loaded once per execution environment, at cold start."""

from mangum import Mangum

from scorer.app import create_app

handler = Mangum(create_app(), lifespan="off")
