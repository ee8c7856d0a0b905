# -*- coding: utf-8 -*-
"""Runs under Python 2.7 with Code for America's Open311 client `three` 0.8.0, unmodified.

Usage: python2.7 three_walkthrough.py BASE_URL API_KEY FORMAT PHOTO
Lists the services, reads one service definition, posts a request (with a photo, as `three`
sends it: multipart `media`), reads it back one by one and in a filtered list, and resolves the
token; prints what the library returned as one JSON document on stdout.
"""
from __future__ import print_function, unicode_literals

import json
import sys

from three import Three


def main(base_url, api_key, fmt, photo):
    client = Three(base_url, format=fmt, api_key=api_key)
    result = {"services": client.services(), "definition": client.services("0101")}
    with open(photo, "rb") as media:
        result["posted"] = client.post(
            "0101", lat="30.005", long="120.005", address="测试路 9 号",
            name="小明 王", phone="13900002222", description="三号楼垃圾满溢 & <紧急>",
            media=media, **{"attribute[bins]": "3", "attribute[kind]": "household"})
    result["post_status"] = client.post_response.status_code
    number = _first(result["posted"], fmt)["service_request_id"]
    result["read"] = client.request(number)
    result["listed"] = client.requests("0101", service_request_id=number)
    anonymous = Three(base_url, format=fmt)
    result["refused"] = anonymous.post("0101", lat="30.005", long="120.005",
                                       description="没有 api_key")
    result["refused_status"] = anonymous.post_response.status_code
    print(json.dumps(result))


def _first(answer, fmt):
    """JSON gives a list of requests; relaxml gives {"request": {...}} for one <request>."""
    if fmt == "json":
        return answer[0]
    return answer["request"]


if __name__ == "__main__":
    main(*sys.argv[1:5])
