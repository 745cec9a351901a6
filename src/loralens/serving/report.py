"""Plain-text rendering of a serving benchmark result for the terminal."""

from __future__ import annotations

from typing import Any


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _ms(stats: dict[str, float] | None, key: str = "median") -> str:
    return "-" if stats is None else f"{stats[key]:.1f}"


def _pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:+.{digits}f}%"


def _timing(s: dict[str, Any]) -> str:
    """How the rounds were timed (A-B-A pairs when the settings say so)."""
    if "pairing" not in s:
        return f"warm-up {s['warmup']}, repeats {s['repeats']} (engines interleaved)"
    return (
        f"warm-up until the last {s['warmup_window']} calls agree within "
        f"{100 * s['warmup_tolerance']:.0f}% ({s['warmup']}-{s['warmup_max']} calls); forward: "
        f"{s['repeats']} rounds of A-B-A pairs against merged; generate: "
        f"{s['generate_repeats']} rounds, engines interleaved"
    )


def _header(result: dict[str, Any]) -> str:
    s = result["settings"]
    synthetic = sum(a["synthetic"] for a in result["adapters"])
    return (
        f"serving benchmark: {s['model']} on {s['device']} ({s['dtype']}, {s['threads']} threads)\n"
        f"adapters: {len(result['adapters'])} ({synthetic} synthetic: random weights, untrained)"
        f"; prompt {s['prompt_length']} tokens, {s['output_length']} new tokens; "
        + _timing(s)
        + "\n"
        f"load average at start {s['load_average_start']}, at end {s.get('load_average_end')}"
        " (other work on the machine makes timings noisy)"
    )


def _greedy(equal: list[bool], agreement: list[float]) -> str:
    """yes / NO, with the worst token agreement when some differ."""
    if not equal:
        return "-"
    if all(equal):
        return "yes"
    return f"NO ({100 * min(agreement):.0f}% tokens)" if agreement else "NO"


def _size(row: dict[str, Any]) -> str:
    """B: batch size or concurrency; for open-loop rows the Poisson rate."""
    if row.get("arrival") == "poisson":
        return f"λ{row['rate_per_s']:g}/s"
    return str(row["batch_size"])


def _correctness(result: dict[str, Any]) -> str:
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in result["correctness"]:
        groups.setdefault((e["engine"], e["workload"]), []).append(e)
    rows = []
    for (engine, workload), entries in groups.items():
        diffs = [e["max_abs_logit_diff"] for e in entries if e["max_abs_logit_diff"] is not None]
        greedy = [e["greedy_equal"] for e in entries if e["greedy_equal"] is not None]
        agree = [e["token_agreement"] for e in entries if e.get("token_agreement") is not None]
        ok = all(e["passed"] for e in entries)
        rows.append(
            [
                engine,
                workload,
                str(len(entries)),
                f"{max(diffs):.2e}" if diffs else "-",
                _greedy(greedy, agree),
                "pass" if ok else "FAILED (not timed)",
            ]
        )
    headers = ["engine", "workload", "cases", "max |Δlogit|", "greedy equal", "gate"]
    return "correctness vs PEFT (one adapter active)\n" + _table(headers, rows)


def _rows(result: dict[str, Any]) -> str:
    headers = [
        "engine",
        "work",
        "B",
        "K",
        "order",
        "samp",
        "median ms",
        "MAD",
        "p95",
        "p99",
        "TTFT",
        "TPOT",
        "tok/s",
        "vs merged",
        "analytic",
    ]
    rows = []
    for r in result["rows"]:
        lat = r["latency_ms"]
        rows.append(
            [
                r["engine"],
                r["workload"],
                _size(r),
                str(r["k_adapters"]),
                r["order"],
                "-" if r["sampling"] is None else ("yes" if r["sampling"] else "no"),
                _ms(lat),
                _ms(lat, "mad"),
                _ms(lat, "p95"),
                _ms(lat, "p99"),
                _ms(r["ttft_ms"], "p50"),
                _ms(r["tpot_ms"], "p50"),
                f"{r['tokens_per_s']:.1f}",
                _pct(r["overhead_vs_merged"]),
                _pct(r.get("analytic_extra_flops_ratio"), 2),
            ]
        )
    note = (
        "latency: forward = one batch call; generate = per request end to end. "
        "vs merged: forward, the paired ratio - 1 (Hodges-Lehmann median of per-pair ratios "
        "against `merged` serving one adapter's batch of the same size, timed around each call); "
        "generate, median over `merged`'s K = 1 median - 1; "
        "analytic: LoRA extra FLOPs / base linear FLOPs"
    )
    return "timings (ms)\n" + _table(headers, rows) + "\n" + note


def _memory_and_more(result: dict[str, Any]) -> str:
    lines = []
    m = result.get("memory") or {}
    if m:
        per = ", ".join(f"{k} {v:.1f}" for k, v in m["per_adapter_mb"].items())
        lines.append(
            f"memory ({m['method']}): base {m['base_mb']:.0f} MiB; per adapter: {per} MiB; "
            f"adapter tensors {m['adapter_weights_mb']:.2f} MiB; one merged copy "
            f"{m['merged_copy_mb']:.0f} MiB; merging stops paying at "
            f"{m['break_even_adapters']} adapters"
        )
    sw = result.get("switching") or {}
    if sw:
        lines.append(
            f"switching: set_adapter {sw['set_adapter_ms']['median']:.3f} ms, "
            f"in-place merge+unmerge {sw['merge_unmerge_ms']['median']:.1f} ms"
        )
    for key, label in (("cold_start_s", "forward"), ("cold_start_generate_s", "generate")):
        if result.get(key):
            cold = ", ".join(f"{k} {v:.2f}" for k, v in result[key].items())
            lines.append(f"cold start ({label}, load base + adapters), s: {cold}")
    a = result["analytic"]
    lines.append(
        f"analytic extra FLOPs of LoRA: {100 * a['extra_flops_ratio']:.3f}% of base linear "
        f"FLOPs ({100 * a['detail']['fused_padded_ratio']:.3f}% with fused padding to r_max)"
    )
    for engine, why in result.get("refused", {}).items():
        lines.append(f"refused to time {engine}: {why}")
    return "\n".join(lines)


def _vllm(block: dict[str, Any]) -> str:
    """vLLM's LoRA over merged per concurrency and K, greedy agreement, and server settings."""
    rows = [
        [
            str(o["concurrency"]),
            str(o["k_adapters"]),
            f"{o['merged_tokens_per_s']:.1f}",
            f"{o['lora_tokens_per_s']:.1f}",
            _pct(o["latency_overhead"]),
            f"{o['throughput_ratio']:.2f}",
        ]
        for o in block.get("overheads", [])
    ]
    headers = ["concurrency", "K", "merged tok/s", "LoRA tok/s", "latency vs merged", "tok/s ratio"]
    lines = [
        "vLLM: base + K unmerged adapters vs one adapter merged (K = 0: base through the LoRA "
        "server)",
        _table(headers, rows) if rows else "(no load rows)",
    ]
    agree = block.get("merged_vs_lora_greedy")
    if agree:
        lines.append(
            f"greedy tokens, merged server vs LoRA server ({agree['dtype']}): "
            f"{100 * agree['token_agreement']:.1f}% agree, {agree['rows_equal']}/{agree['rows']} "
            f"rows equal, first divergence {agree['first_divergence']}"
        )
    for label, s in block.get("settings", {}).items():
        if label == "env":
            lines.append(f"vLLM environment {s['path']} (built in {s['build_s']} s)")
            continue
        env = " ".join(f"{k}={v}" for k, v in s["env"].items())
        lora = (
            f"max-loras {s['max_loras']}, max-lora-rank {s['max_lora_rank']}"
            if s["lora_modules"]
            else "no LoRA"
        )
        lines.append(
            f"{label} server: dtype {s['dtype']}, {lora}, max-num-seqs {s['max_num_seqs']}, "
            f"started in {s['startup_s']:.0f} s, RSS {s['rss_mb_idle']:.0f} MiB, CPU binding "
            f"{s.get('cpu_binding') or '-'}; {env}"
        )
    return "\n".join(lines)


def format_serve_table(result: dict[str, Any]) -> str:
    """The benchmark result as plain-text tables: correctness, timings, memory, switching."""
    parts = [_header(result), _correctness(result)]
    if result["rows"]:
        parts.append(_rows(result))
    if result.get("vllm"):
        parts.append(_vllm(result["vllm"]))
    parts.append(_memory_and_more(result))
    for engine, why in result.get("failed", {}).items():
        parts.append(f"ENGINE FAILED: {engine} {why}")
    return "\n\n".join(parts)
