"""Screening benchmark: a synthetic 50,000-entry OpenSanctions-format list, 500 inquiries.

Prints the list's load and index time and p50/p95/max milliseconds per inquiry (one inquiry =
person name + company name + email + domain). Target: under 20 ms per inquiry.

    python bench/bench_screening.py [--entries 50000] [--inquiries 500]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.trust.screening import Screener, load_list


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Ivan Sergei Aleksandr Dmitry Olga Natalia Mikhail Vladimir Ahmed Mohammed Ali Hassan Hossein Reza "
    "Mahmoud Fatima Zahra Omar Yusuf Karim Wei Jian Ming Li Hua Xiaoping Jorge Carlos Luis Maria Juan "
    "Pedro Alejandro Kim Park Jong Hyun Chol Nguyen Tran Minh Anh Tuan Mehmet Mustafa Ayse Hans Klaus "
    "Pierre Jean Giovanni Marco John Robert Michael Abdul Rahman Farhad Bashar Rami Tariq Saeed Hamid"
)
LAST = _words(
    "Petrov Ivanov Smirnov Kuznetsov Popov Sokolov Volkov Karimi Hosseini Rahimi Mousavi Al-Rashid "
    "Al-Hakim Haddad Khalil Mansour Nasser Wang Zhang Liu Chen Yang Huang Zhao Garcia Rodriguez Martinez "
    "Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Kim Lee Choi Pak Ri Nguyen Tran Le Pham Yilmaz "
    "Kaya Demir Sahin Schmidt Muller Dubois Rossi Russo Smith Johnson Makhlouf Assad Tlass Qasemi Jafari"
)
CYR_FIRST = _words("Иван Сергей Александр Дмитрий Ольга Наталья Михаил Владимир")
CYR_LAST = _words("Петров Иванов Смирнов Кузнецов Попов Соколов Волков Морозов")
HAN = _words("华星 中兴 海天 东方 长城 金龙 新华 恒通 宏达 联合 远洋 天和 瑞丰 鑫源 九州 泰和")
HAN_SECTOR = _words("电子科技 机械设备 国际贸易 化工 船舶 能源 物流 光电")
PLACE = _words(
    "Volga Ural Caspian Baltic Siberian Arctic Persian Gulf Damascus Aleppo Tehran Tabriz Isfahan Shiraz "
    "Pyongyang Sinuiju Havana Caracas Minsk Kazan Samara Novosibirsk Dubai Sharjah Ajman Shenzhen Dalian "
    "Ningbo Xiamen Harbin Tianjin Istanbul Mersin Karachi Lahore Golden Crescent Northern Southern Eastern "
    "Western Pacific Atlantic Blue Red Green Silver Royal Imperial United Allied Premier Zenith Horizon"
)
CORE = _words(
    "Precision Optics Aerospace Petrochemical Shipping Maritime Logistics Electronics Machinery Metals "
    "Steel Aluminium Energy Oil Gas Nuclear Defence Systems Technologies Engineering Construction Pharma "
    "Chemicals Polymers Minerals Mining Aviation Avionics Telecom Semiconductor Microelectronics Robotics "
    "Instruments Components Hydraulics Turbines Composites Lasers Satellite Marine Tanker Cargo Freight"
)
SECTOR = _words(
    "Trading Industries Group Holding Company Enterprises Services Solutions Development Investment"
)
LEGAL = _words("LLC Ltd. GmbH JSC OOO PJSC FZE FZCO Co.,Ltd S.A. SARL LLP Limited Inc. S.r.l. A.Ş. Sdn.Bhd.")
SCHEMAS = ("Person", "Company", "Organization", "LegalEntity")


def person(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"{rng.choice(CYR_FIRST)} {rng.choice(CYR_LAST)}"
    middle = f" {rng.choice(FIRST)}" if rng.random() < 0.3 else ""
    return f"{rng.choice(FIRST)}{middle} {rng.choice(LAST)}"


def company(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return f"{rng.choice(HAN)}{rng.choice(HAN_SECTOR)}有限公司"
    words = [rng.choice(PLACE), rng.choice(CORE)]
    if rng.random() < 0.6:
        words.append(rng.choice(SECTOR))
    if rng.random() < 0.3:
        words.insert(0, rng.choice(LAST))
    return " ".join(words) + " " + rng.choice(LEGAL)


def write_list(path: Path, n: int, rng: random.Random) -> list[str]:
    names = []
    header = _words(
        "id schema name aliases birth_date countries addresses identifiers sanctions phones emails "
        "dataset first_seen last_seen last_change"
    )
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(n):
            schema = rng.choice(SCHEMAS)
            name = person(rng) if schema == "Person" else company(rng)
            names.append(name)
            aliases = ";".join(
                person(rng) if schema == "Person" else company(rng) for _ in range(rng.randint(0, 2))
            )
            email = f"info{i}@{name.split()[0].lower()}-{i}.example" if rng.random() < 0.1 else ""
            writer.writerow(
                [f"NK-{i:06d}", schema, name, aliases, "", rng.choice(["ru", "ir", "kp", "sy", "cn"]), "", "",
                 "Synthetic", "", email, "bench", "2024-01-01", "2026-01-01", "2026-01-01"]
            )  # fmt: skip
    return names


def perturb(name: str, rng: random.Random) -> str:
    words = name.split()
    rng.shuffle(words)
    out = " ".join(words)
    if len(out) > 6:
        i = rng.randrange(1, len(out) - 1)
        out = out[:i] + out[i + 1 :]
    return out


BUYER_FIRST = _words("Stefan Anna Lars Sofia Minh Somchai Budi Ahmad Carlos Laura Chen Yuki Priya Tom Emma")
BUYER_LAST = _words("Braun Nguyen Wongsakul Santoso Ibrahim Fernandez Rossi Tanaka Sharma Baker Lindqvist")
BUYER_CO = _words("Lichtwerk Lumina Brightline Solaris Helios Nordlicht Luzon Aurora Beacon Lumen Glow")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--inquiries", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "targets.simple.csv"
        names = write_list(path, args.entries, rng)
        started = time.perf_counter()
        screening_list = load_list(path)
        loaded = time.perf_counter()
        screener = Screener([screening_list])
        indexed = time.perf_counter()
    inquiries = []
    for i in range(args.inquiries):
        if i % 5 == 0:
            listed = rng.choice(names)
            inquiries.append(
                ([perturb(listed, rng), person(rng)], [f"buyer{i}@mail.example"], ["mail.example"])
            )
        else:
            who = f"{rng.choice(BUYER_FIRST)} {rng.choice(BUYER_LAST)}"
            co = f"{rng.choice(BUYER_CO)} {rng.choice(CORE)} {rng.choice(LEGAL)}"
            domain = f"{co.split()[0].lower()}-{i}.com"
            inquiries.append(([who, co], [f"{who.split()[0].lower()}@{domain}"], [domain]))
    timings = []
    hits = [0, 0]  # inquiries built from a listed name / the others
    for i, (names_q, emails_q, domains_q) in enumerate(inquiries):
        t0 = time.perf_counter()
        matches = screener.screen(names_q, emails_q, domains_q)
        timings.append((time.perf_counter() - t0) * 1000)
        hits[i % 5 != 0] += bool(matches)
    timings.sort()
    listed = len(inquiries[::5])
    print(f"possible match: {hits[0]}/{listed} built from a listed name (shuffled, one letter dropped), ")
    print(f"{hits[1]}/{len(inquiries) - listed} other buyers (their names share some words with the list)")
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"entries: {len(screening_list.entries)} loaded, {screener.size} indexed")
    print(f"load: {(loaded - started) * 1000:.0f} ms, index: {(indexed - loaded) * 1000:.0f} ms")
    print(
        f"per inquiry: p50 {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms "
        f"({len(timings)} inquiries)"
    )


if __name__ == "__main__":
    main()
