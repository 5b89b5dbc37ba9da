"""Words for generated tickets, Swedish and English, so that full-text search has realistic hits.

Every ticket is about one topic: its title, description and thread are drawn half from the
topic's words and half from the general vocabulary. So a general word occurs in roughly half of
all tickets (a broad search) and a topic word in about 1/len(TOPICS) of them (a narrow one).
"""

from __future__ import annotations

import random

TOPICS = [
    "faktura moms kvitto betalning invoice payment",
    "lösenord inloggning konto behörighet password login",
    "skrivare utskrift toner papper printer scanner",
    "leverans frakt paket spårning delivery tracking",
    "retur reklamation garanti återbetalning refund warranty",
    "nätverk wifi router brandvägg vpn network",
    "e-post inkorg bilaga skräppost mailbox outlook",
    "beställning order orderbekräftelse lager stock backorder",
    "licens prenumeration förnyelse abonnemang license subscription",
    "telefon mobil växel samtal headset voicemail",
    "webbplats hemsida domän certifikat website domain",
    "dator laptop skärm tangentbord docka monitor",
    "server databas backup återställning restore database",
    "kalender möte bokning inbjudan calendar meeting",
    "rapport export statistik excel report spreadsheet",
    "avtal offert kontrakt prisförfrågan contract quote",
    "installation uppgradering version drivrutin install upgrade",
    "kassa butik kortterminal kvittoskrivare checkout terminal",
    "personal anställning schema semester onboarding payroll",
    "app uppdatering krasch notiser crash notification",
    "säkerhet virus nätfiske intrång phishing malware",
    "kundnummer adressändring kunduppgifter registrering address profile",
    "reparation service byte reservdel repair replacement",
    "faktureringsadress kreditnota påminnelse inkasso reminder credit",
    "integration api webhook synkronisering sync token",
]

GENERAL = (
    "problem fel fungerar inte saknas långsam trasig fråga begäran hjälp snabbt idag igår "
    "imorgon vecka månad kund kollega chef kontor hemma support ärende svar återkoppling "
    "brådskande viktigt tyvärr tack hälsningar vänligen undrar behöver försökt igen fortfarande "
    "ibland alltid aldrig meddelande felmeddelande skärmdump bifogar ringde skickade fick "
    "kontrollera åtgärda lösa löst öppna stänga ändra lägga ta bort visa hitta ladda spara "
    "error issue broken missing slow urgent question request help please thanks again still "
    "sometimes always never message screenshot attached called sent received check fix solve "
    "open close change add remove show find load save customer colleague manager office home "
    "today yesterday tomorrow week month team account system service update access user "
    "number name address email phone company department branch project"
).split()

# The benchmark's searches (see measure.py): a general word and two words of one topic.
COMMON_WORD = "fungerar"
TWO_WORDS = "faktura moms"

SENTENCES_PER_TOPIC = 40


def _words(rng: random.Random, topic: list[str], count: int) -> str:
    return " ".join(
        rng.choice(topic) if rng.random() < 0.5 else rng.choice(GENERAL) for _ in range(count)
    )


def sentences(seed: int = 1) -> list[tuple[int, str, str]]:
    """(id, title, body) rows: SENTENCES_PER_TOPIC per topic; id // SENTENCES_PER_TOPIC is the
    topic. A title has 3–7 words, a body 15–45 (a short mail)."""
    rng = random.Random(seed)
    rows = []
    for t, line in enumerate(TOPICS):
        topic = line.split()
        for j in range(SENTENCES_PER_TOPIC):
            title = _words(rng, topic, rng.randint(3, 7)).capitalize()
            body = _words(rng, topic, rng.randint(15, 45)).capitalize() + "."
            rows.append((t * SENTENCES_PER_TOPIC + j, title, body))
    return rows
