"""A client generated from deleteq's /openapi.json by openapi-python-client submits a campaign and reads it back:
the typed campaign body (a JSON array of JobInput) works for generated clients, not only the JSON-lines form.
Usage: generated_client_check.py PACKAGE_DIR BASE_URL TOKEN (run by scripts/api_contract.sh)."""
import sys

package_dir, base_url, token = sys.argv[1:4]
sys.path.insert(0, package_dir)

from deleteq_client import AuthenticatedClient  # noqa: E402
from deleteq_client.api.campaigns import show, submit  # noqa: E402
from deleteq_client.api.jobs import enqueue  # noqa: E402
from deleteq_client.models import JobInput  # noqa: E402

client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
jobs = [JobInput(account="nop", message=f"generated-{i}") for i in range(3)]
answer = submit.sync_detailed(client=client, body=jobs, name="generated client")
assert answer.status_code == 201, (answer.status_code, answer.content)
campaign = answer.parsed
assert campaign.total == 3, campaign
shown = show.sync_detailed(client=client, id=campaign.id)
assert shown.status_code == 200 and shown.parsed.total == 3 and shown.parsed.name == "generated client", shown.content

# A bad job is refused naming its position in the array and its field, and nothing is stored.
bad = [JobInput(account="nop", message="fine"), JobInput(account="nope", message="x")]
refused = submit.sync_detailed(client=client, body=bad)
assert refused.status_code == 400, (refused.status_code, refused.content)
assert refused.parsed.error.index == 1 and refused.parsed.error.field == "account", refused.content

one = enqueue.sync_detailed(client=client, body=JobInput(account="nop", message="generated-single"))
assert one.status_code == 201, (one.status_code, one.content)
print(f"generated client: campaign {campaign.id} submitted ({campaign.total} jobs), a bad one refused, a job enqueued")
