"""What a process shares across clients (issue 15), and what a forked child must not share
(issue 9): per-request clients reuse one TLS connection; children forked after the parent used
the library (gunicorn --preload, multiprocessing with fork) get their own answers."""

import os

import doku_snap

PATH = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"


def config(sandbox, keys):
    return dict(client_id="py-transport", private_key_file=keys.pkcs8, base_url=sandbox.url, ca_file=sandbox.ca_file,
                proxy="", client_secret="SK-py-transport", channel_id="H2H", timeout_ms=10000)


def body(trx_id: str) -> str:
    return ('{"partnerServiceId":"  888994","customerNo":"1","virtualAccountNo":"  8889941","virtualAccountName":"Py",'
            '"trxId":"%s","totalAmount":{"value":"10000.00","currency":"IDR"}}' % trx_id)


def own_answer(client, trx_id: str) -> bool:
    r = client.request("POST", PATH, body(trx_id))
    return r.http_status == 200 and r.response_code == "2002700" and r.json()["virtualAccountData"]["trxId"] == trx_id


def test_a_client_per_request_shares_one_tls_connection(transport_sandbox, keys):
    for i in range(200):
        with doku_snap.Client(config(transport_sandbox, keys)) as client:
            assert own_answer(client, f"PER-REQUEST-{i}")
    assert transport_sandbox.connections() == 1
    assert transport_sandbox.requests("py-transport") == 1


def test_children_forked_after_use_get_their_own_answers(transport_sandbox, keys):
    with doku_snap.Client(config(transport_sandbox, keys)) as client:
        for run in range(3):
            assert own_answer(client, f"FORK-{run}-parent")
            children = []
            for k in range(4):
                pid = os.fork()
                if pid == 0:
                    ok = False
                    try:
                        ok = all(own_answer(client, f"FORK-{run}-{k}-{i}") for i in range(3))
                    finally:
                        os._exit(0 if ok else 1)
                children.append(pid)
            for pid in children:
                _, status = os.waitpid(pid, 0)
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"run {run}: a child got another's answer"
            assert own_answer(client, f"FORK-{run}-parent-after")
    # The parent's token served every child.
    assert transport_sandbox.requests("py-transport") == 1
