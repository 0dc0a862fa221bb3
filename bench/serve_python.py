#!/usr/bin/python3
"""bench/serve_python.py — a minimal Python demo of the same job as `genreid serve`'s
/api/predict, for `make bench`: http.server (threaded) + PIL + torch with the same model file
(tools/torch_genreid.py) and fastai's preprocessing. POST /api/predict with a raw image body.
Usage: serve_python.py MODEL PORT
"""
import json
import io
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from torch_genreid import load_model, preprocess  # noqa: E402

torch.set_num_threads(2)
NET, CLASSES, PRE = load_model(sys.argv[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            x = preprocess(Image.open(io.BytesIO(body)), PRE).unsqueeze(0)
            with torch.no_grad():
                p = torch.softmax(NET(x), 1)[0].tolist()
            k = max(range(len(p)), key=p.__getitem__)
            out = json.dumps({"label": CLASSES[k], "probabilities": dict(zip(CLASSES, p))}).encode()
            self.send_response(200)
        except Exception as e:  # noqa: BLE001
            out = json.dumps({"error": str(e)}).encode()
            self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
