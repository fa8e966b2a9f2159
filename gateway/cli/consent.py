"""`gateway consent`: consent tools."""

import typer

from gateway.cli.root import JsonOpt, emit, guarded
from gateway.consent.tcf import decode_tc_string
from gateway.consent.tcf_proof import v23_refusal

consent_app = typer.Typer(help="Consent tools.", no_args_is_help=True)


@consent_app.command("decode-tcf")
def consent_decode_tcf(tc_string: str, as_json: JsonOpt = False) -> None:
    """Decode an IAB TCF v2 TC string, every segment.

    `v2_3_refusal` is null for a string TCF v2.3 accepts, else the rule it
    breaks and why (consent events refuse such strings).
    """

    def run() -> None:
        tc = decode_tc_string(tc_string)
        refusal = v23_refusal(tc)
        decoded = tc.as_dict() | {
            "v2_3_refusal": None
            if refusal is None
            else {"rule": refusal.rule, "message": refusal.message}
        }
        lines = [f"{key}: {value}" for key, value in decoded.items()]
        emit(as_json, decoded, "\n".join(lines))

    guarded(run)
