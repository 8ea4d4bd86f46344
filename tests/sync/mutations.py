"""Random source mutations for the sync tests: vouchers added, voided and deleted, accounts
added, renamed, deactivated and deleted, customers and suppliers added and changed."""

from __future__ import annotations

import random

from app.visma.simulator.ledger import SimError


def mutate(state, tenant_id: str, rng: random.Random, changes: int = 12) -> list[str]:
    """Apply about ``changes`` random mutations; return what was done (for messages)."""
    done = []
    truth = state.truth(tenant_id)
    active = [a["accountCD"] for a in truth["accounts"] if a["active"]]
    plain = [a for a in active if a not in ("1500", "2400")]
    batches = [b["batchNumber"] for b in truth["journalTransactions"]]
    customers = [c["number"] for c in truth["customers"]]
    suppliers = [s["number"] for s in truth["suppliers"]]
    added: list[str] = []
    for _ in range(changes):
        action = rng.choice(["voucher", "voucher", "voucher", "void", "delete_voucher",
                             "account", "rename", "deactivate", "delete_account",
                             "customer", "supplier"])
        try:
            if action == "voucher":
                amount = round(rng.uniform(10, 50000), 2)
                accounts = rng.sample(plain, 2)
                lines = [{"accountNumber": accounts[0], "debitAmount": amount},
                         {"accountNumber": accounts[1], "creditAmount": amount}]
                if customers and rng.random() < 0.3:
                    lines[1] = {"accountNumber": "1500", "creditAmount": amount,
                                "customerSupplier": rng.choice(customers)}
                month = rng.randint(1, 11)
                year = rng.choice([2025, 2026])
                batch = state.add_voucher(tenant_id, lines,
                                          transaction_date=f"{year}-{month:02d}-{rng.randint(1, 28):02d}")
                batches.append(batch["batchNumber"])
            elif action in ("void", "delete_voucher") and batches:
                number = batches.pop(rng.randrange(len(batches)))
                if action == "void":
                    state.void_voucher(tenant_id, number)
                else:
                    state.delete_voucher(tenant_id, number)
            elif action == "account":
                number = str(rng.randint(8000, 8999))
                state.add_account(tenant_id, number, f"Ny konto {number}")
                plain.append(number)
                added.append(number)
            elif action == "rename":
                state.update_account(tenant_id, rng.choice(active), description=f"Omdøpt {rng.random():.4f}")
            elif action == "deactivate":
                number = rng.choice(plain)
                state.update_account(tenant_id, number, active=False)
                plain.remove(number)
            elif action == "delete_account":
                number = added.pop() if added else rng.choice(active)
                state.delete_account(tenant_id, number)  # 409 when it has lines
                if number in plain:
                    plain.remove(number)
            elif action == "customer":
                if customers and rng.random() < 0.5:
                    state.update_customer(tenant_id, rng.choice(customers), name=f"Kunde {rng.random():.4f}")
                else:
                    customers.append(state.add_customer(tenant_id, f"Ny kunde {rng.random():.4f}")["number"])
            elif action == "supplier":
                if suppliers and rng.random() < 0.5:
                    state.update_supplier(tenant_id, rng.choice(suppliers), status="Inactive")
                else:
                    suppliers.append(state.add_supplier(tenant_id, f"Ny lev {rng.random():.4f}")["number"])
            done.append(action)
        except SimError:
            continue
    return done
