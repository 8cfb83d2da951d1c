"""Write the labelled overlap benchmark: Portuguese and English initiatives with known
duplicates and hard negatives. Deterministic (fixed seed); run from the project root:

    .venv/bin/python -m benchmarks.make_overlap_dataset

Writes ``benchmarks/data/overlap_labelled.csv`` (the registry exchange format, ``;``
separated lists, plus ``effort`` and ``scene`` columns) and ``overlap_pairs.csv``
(``id_a,id_b,label,kind``: every true pair, and every hard negative built on purpose).

Each *scene* is one effort and the records around it:
- ``reworded``: the same effort described by another partner, other words, other
  sentence order, dates shifted a little, areas the same or a subset;
- ``resubmitted``: the same partner submitting it twice, lightly edited;
- ``regional_copy``: a national initiative and its copy for one district (or the
  reverse);
- hard negatives: ``same_place_other_effort`` (same category, areas, dates and target
  group, another effort), ``same_partner_other_effort``, and ``same_kind_elsewhere``
  (the same kind of effort in another district and another period).
Efforts of one kind never share a district and a half-year across scenes, so the
labels are not contradicted by accidental real overlaps.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).parent / "data"
SEED = 20201
HALVES = 30


@dataclass(frozen=True)
class Concept:
    code: str
    category: str
    groups: tuple[str, ...]
    objects: dict[str, tuple[str, ...]]  # language -> synonyms for what is offered
    details: dict[str, tuple[str, ...]]  # language -> specific sentences


C = Concept
CONCEPTS: tuple[Concept, ...] = (
    C(
        "data_health",
        "communications_packages",
        ("health_professionals",),
        {
            "pt": (
                "dados móveis gratuitos",
                "tráfego de dados sem custo",
                "internet móvel grátis",
                "pacote de dados adicional",
            ),
            "en": (
                "free mobile data",
                "mobile data at no cost",
                "extra data allowance",
                "free mobile internet",
            ),
        },
        {
            "pt": (
                "Cada cartão recebe 30 GB adicionais por mês.",
                "Basta apresentar a cédula profissional na loja.",
                "O tráfego para plataformas de telemedicina não é contabilizado.",
            ),
            "en": (
                "Each SIM card gets 30 GB extra per month.",
                "Show your professional card in any store.",
                "Traffic to telemedicine platforms is not counted.",
            ),
        },
    ),
    C(
        "laptops_students",
        "education",
        ("students_teachers",),
        {
            "pt": (
                "computadores portáteis emprestados",
                "empréstimo de portáteis",
                "portáteis recondicionados",
                "equipamentos informáticos cedidos",
            ),
            "en": ("loaned laptops", "laptop lending", "refurbished laptops", "donated computers"),
        },
        {
            "pt": (
                "As escolas indicam os alunos sem equipamento.",
                "Os portáteis são devolvidos no fim do ano letivo.",
                "Inclui um router com ligação à internet.",
            ),
            "en": (
                "Schools name the pupils who lack a device.",
                "Laptops are returned at the end of the school year.",
                "A router with an internet connection is included.",
            ),
        },
    ),
    C(
        "tv_classes",
        "education",
        ("students_teachers",),
        {
            "pt": (
                "aulas transmitidas na televisão",
                "ensino pela televisão",
                "telescola",
                "aulas no canal de TV",
            ),
            "en": (
                "lessons broadcast on television",
                "teaching on TV",
                "TV school",
                "classes on a TV channel",
            ),
        },
        {
            "pt": (
                "As aulas seguem o currículo do ensino básico.",
                "A grelha é publicada todas as semanas.",
                "Os professores gravam os conteúdos em estúdio.",
            ),
            "en": (
                "Lessons follow the primary curriculum.",
                "The schedule is published every week.",
                "Teachers record the content in a studio.",
            ),
        },
    ),
    C(
        "tutoring_online",
        "education",
        ("students_teachers",),
        {
            "pt": (
                "explicações online gratuitas",
                "apoio escolar à distância",
                "tutoria por videochamada",
                "sessões de estudo acompanhado na internet",
            ),
            "en": (
                "free online tutoring",
                "remote homework help",
                "tutoring by video call",
                "guided study sessions online",
            ),
        },
        {
            "pt": (
                "Voluntários universitários acompanham cada aluno.",
                "As sessões duram uma hora, duas vezes por semana.",
                "Matemática e português têm prioridade.",
            ),
            "en": (
                "University volunteers mentor each pupil.",
                "Sessions last an hour, twice a week.",
                "Maths and Portuguese come first.",
            ),
        },
    ),
    C(
        "telework_licences",
        "telework",
        ("businesses", "public_servants"),
        {
            "pt": (
                "licenças gratuitas de videoconferência",
                "software de teletrabalho sem custo",
                "ferramentas de colaboração grátis",
                "acesso gratuito a plataforma de reuniões",
            ),
            "en": (
                "free videoconference licences",
                "telework software at no cost",
                "free collaboration tools",
                "free access to a meeting platform",
            ),
        },
        {
            "pt": (
                "As licenças valem por seis meses.",
                "Inclui formação em segurança informática.",
                "Pedido através do formulário no site.",
            ),
            "en": (
                "Licences are valid for six months.",
                "Includes training in IT security.",
                "Apply through the form on the website.",
            ),
        },
    ),
    C(
        "vpn_public",
        "telework",
        ("public_servants",),
        {
            "pt": (
                "acesso remoto seguro para funcionários",
                "rede privada virtual para a administração",
                "VPN para trabalhadores do Estado",
                "ligação segura ao posto de trabalho",
            ),
            "en": (
                "secure remote access for staff",
                "virtual private network for the administration",
                "VPN for civil servants",
                "secure connection to the office desktop",
            ),
        },
        {
            "pt": (
                "Os serviços pedem os acessos em bloco.",
                "A autenticação usa o cartão de cidadão.",
                "Suporte técnico disponível em horário alargado.",
            ),
            "en": (
                "Departments request access in bulk.",
                "Sign-in uses the citizen card.",
                "Technical support is available for extended hours.",
            ),
        },
    ),
    C(
        "helpline_psych",
        "health",
        ("citizens",),
        {
            "pt": (
                "linha de apoio psicológico",
                "aconselhamento psicológico por telefone",
                "apoio emocional telefónico",
                "consultas de psicologia à distância",
            ),
            "en": (
                "psychological support line",
                "counselling by phone",
                "emotional support helpline",
                "remote psychology consultations",
            ),
        },
        {
            "pt": (
                "Psicólogos atendem todos os dias das 8h às 24h.",
                "A chamada é gratuita e confidencial.",
                "Casos graves são encaminhados para o SNS.",
            ),
            "en": (
                "Psychologists answer every day from 8am to midnight.",
                "The call is free and confidential.",
                "Serious cases are referred to the health service.",
            ),
        },
    ),
    C(
        "teleconsult",
        "health",
        ("citizens", "elderly"),
        {
            "pt": (
                "teleconsultas médicas",
                "consultas por videochamada",
                "medicina à distância",
                "consulta médica online",
            ),
            "en": (
                "medical teleconsultations",
                "doctor appointments by video call",
                "remote medicine",
                "online medical consultation",
            ),
        },
        {
            "pt": (
                "O centro de saúde marca a consulta por telefone.",
                "Receitas enviadas por SMS.",
                "Disponível para doentes crónicos.",
            ),
            "en": (
                "The health centre books the appointment by phone.",
                "Prescriptions are sent by SMS.",
                "Available for chronic patients.",
            ),
        },
    ),
    C(
        "symptom_app",
        "health",
        ("citizens",),
        {
            "pt": (
                "aplicação de registo de sintomas",
                "app para auto-avaliação de sintomas",
                "questionário digital de sintomas",
                "ferramenta online de triagem",
            ),
            "en": (
                "symptom tracking app",
                "self-assessment app for symptoms",
                "digital symptom questionnaire",
                "online triage tool",
            ),
        },
        {
            "pt": (
                "Os dados são anónimos e guardados em Portugal.",
                "A app indica quando ligar para o SNS 24.",
                "Funciona em Android e iPhone.",
            ),
            "en": (
                "Data is anonymous and stored in Portugal.",
                "The app tells you when to call SNS 24.",
                "Works on Android and iPhone.",
            ),
        },
    ),
    C(
        "wifi_shelters",
        "connectivity",
        ("vulnerable_households",),
        {
            "pt": (
                "internet sem fios em centros de acolhimento",
                "rede wi-fi gratuita em abrigos",
                "acesso à internet em alojamentos de emergência",
                "hotspots em centros de abrigo",
            ),
            "en": (
                "wireless internet in shelters",
                "free wi-fi in emergency shelters",
                "internet access in emergency housing",
                "hotspots in shelter centres",
            ),
        },
        {
            "pt": (
                "Instalação feita por técnicos voluntários.",
                "Cobertura para 200 pessoas em simultâneo.",
                "Inclui tablets para uso comum.",
            ),
            "en": (
                "Installed by volunteer technicians.",
                "Coverage for 200 people at once.",
                "Shared tablets are included.",
            ),
        },
    ),
    C(
        "rural_broadband",
        "connectivity",
        ("citizens", "businesses"),
        {
            "pt": (
                "reforço da rede de banda larga",
                "ampliação da cobertura de fibra ótica",
                "novas antenas de rede móvel",
                "melhoria da internet em zonas rurais",
            ),
            "en": (
                "broadband network upgrade",
                "extending fibre coverage",
                "new mobile network masts",
                "better internet in rural areas",
            ),
        },
        {
            "pt": (
                "As obras decorrem em freguesias sem cobertura.",
                "Velocidade mínima garantida de 100 Mbps.",
                "Parceria com as juntas de freguesia.",
            ),
            "en": (
                "Works take place in parishes without coverage.",
                "A minimum speed of 100 Mbps is guaranteed.",
                "In partnership with the parish councils.",
            ),
        },
    ),
    C(
        "sim_elderly",
        "connectivity",
        ("elderly",),
        {
            "pt": (
                "telemóveis para idosos isolados",
                "cartões SIM para pessoas idosas",
                "telefones oferecidos a seniores",
                "equipamentos de comunicação para idosos",
            ),
            "en": (
                "mobile phones for isolated elderly people",
                "SIM cards for older people",
                "phones given to seniors",
                "communication devices for the elderly",
            ),
        },
        {
            "pt": (
                "Os lares e as IPSS identificam quem precisa.",
                "Os contactos da família ficam pré-gravados.",
                "Chamadas ilimitadas durante três meses.",
            ),
            "en": (
                "Care homes and charities identify who needs one.",
                "Family contacts come pre-saved.",
                "Unlimited calls for three months.",
            ),
        },
    ),
    C(
        "digital_ids",
        "e_services",
        ("citizens",),
        {
            "pt": (
                "ativação da chave móvel digital",
                "apoio à autenticação digital",
                "adesão à assinatura digital",
                "ajuda para usar os serviços públicos online",
            ),
            "en": (
                "activating the digital mobile key",
                "help with digital authentication",
                "joining the digital signature",
                "help using public services online",
            ),
        },
        {
            "pt": (
                "Atendimento nas lojas do cidadão por marcação.",
                "Um assistente ajuda por telefone.",
                "Evita deslocações às repartições.",
            ),
            "en": (
                "Citizen shops serve you by appointment.",
                "An assistant helps over the phone.",
                "Saves a trip to the public office.",
            ),
        },
    ),
    C(
        "online_permits",
        "e_services",
        ("businesses",),
        {
            "pt": (
                "licenciamento online de atividades",
                "pedidos de licenças pela internet",
                "balcão digital de licenças",
                "autorizações emitidas online",
            ),
            "en": (
                "online licensing of activities",
                "permit requests over the internet",
                "digital permit desk",
                "authorisations issued online",
            ),
        },
        {
            "pt": (
                "Os prazos de resposta baixam para cinco dias.",
                "Pagamento das taxas por referência multibanco.",
                "Documentos entregues em PDF.",
            ),
            "en": (
                "Response times drop to five days.",
                "Fees are paid by ATM reference.",
                "Documents are submitted as PDF.",
            ),
        },
    ),
    C(
        "food_delivery",
        "other",
        ("elderly", "vulnerable_households"),
        {
            "pt": (
                "entrega de refeições ao domicílio",
                "distribuição de cabazes alimentares",
                "refeições levadas a casa",
                "apoio alimentar porta a porta",
            ),
            "en": (
                "meals delivered at home",
                "food parcel distribution",
                "meals brought to your door",
                "door-to-door food support",
            ),
        },
        {
            "pt": (
                "Voluntários entregam duas vezes por semana.",
                "Pedidos por telefone até às 18h.",
                "Inclui produtos de higiene.",
            ),
            "en": (
                "Volunteers deliver twice a week.",
                "Order by phone before 6pm.",
                "Hygiene products are included.",
            ),
        },
    ),
    C(
        "official_info",
        "information",
        ("citizens",),
        {
            "pt": (
                "portal de informação oficial",
                "página única com medidas em vigor",
                "boletim diário de informação",
                "site com perguntas frequentes oficiais",
            ),
            "en": (
                "official information portal",
                "single page of the measures in force",
                "daily information bulletin",
                "site of official frequently asked questions",
            ),
        },
        {
            "pt": (
                "Atualizado pelas autoridades competentes.",
                "Respostas validadas pela DGS.",
                "Disponível em português e inglês.",
            ),
            "en": (
                "Updated by the competent authorities.",
                "Answers checked by the health authority.",
                "Available in Portuguese and English.",
            ),
        },
    ),
    C(
        "fact_check",
        "information",
        ("citizens",),
        {
            "pt": (
                "verificação de notícias falsas",
                "combate à desinformação",
                "esclarecimento de boatos",
                "checagem de factos",
            ),
            "en": (
                "checking fake news",
                "fighting disinformation",
                "debunking rumours",
                "fact checking",
            ),
        },
        {
            "pt": (
                "Os leitores enviam dúvidas por WhatsApp.",
                "Publicamos verificações todos os dias.",
                "Equipa de jornalistas dedicada.",
            ),
            "en": (
                "Readers send questions on WhatsApp.",
                "We publish checks every day.",
                "A dedicated team of journalists.",
            ),
        },
    ),
    C(
        "sme_ecommerce",
        "other",
        ("businesses",),
        {
            "pt": (
                "lojas online para pequenos comerciantes",
                "apoio à criação de comércio eletrónico",
                "montras digitais para o comércio local",
                "vendas pela internet para micro empresas",
            ),
            "en": (
                "online shops for small retailers",
                "help setting up e-commerce",
                "digital shop windows for local trade",
                "internet sales for micro businesses",
            ),
        },
        {
            "pt": (
                "A plataforma não cobra comissões no primeiro ano.",
                "Formação de duas horas incluída.",
                "Entregas com parceiros locais.",
            ),
            "en": (
                "The platform charges no commission in the first year.",
                "Two hours of training included.",
                "Deliveries with local partners.",
            ),
        },
    ),
)

PT_VERBS = ("disponibiliza", "oferece", "garante", "assegura", "promove")
EN_VERBS = ("provides", "offers", "ensures", "delivers", "runs")
PT_FILLERS = (
    "Durante o estado de emergência.",
    "Iniciativa sem custos para os beneficiários.",
    "Mais informações no nosso site.",
    "Em articulação com as autoridades locais.",
    "Para responder à pandemia de COVID-19.",
    "Inscrições abertas até ao fim do mês.",
)
EN_FILLERS = (
    "During the state of emergency.",
    "At no cost to the people who use it.",
    "More information on our website.",
    "Coordinated with the local authorities.",
    "In response to the COVID-19 pandemic.",
    "Sign up before the end of the month.",
)
GROUP_WORDS = {
    "pt": {
        "health_professionals": ("profissionais de saúde", "médicos e enfermeiros"),
        "students_teachers": ("alunos", "estudantes do ensino básico"),
        "businesses": ("empresas", "pequenos negócios"),
        "citizens": ("cidadãos", "a população"),
        "elderly": ("idosos", "pessoas com mais de 65 anos"),
        "vulnerable_households": ("famílias carenciadas", "agregados vulneráveis"),
        "public_servants": ("funcionários públicos", "trabalhadores do Estado"),
    },
    "en": {
        "health_professionals": ("health workers", "doctors and nurses"),
        "students_teachers": ("pupils", "school students"),
        "businesses": ("businesses", "small firms"),
        "citizens": ("citizens", "the public"),
        "elderly": ("older people", "people over 65"),
        "vulnerable_households": ("low-income families", "vulnerable households"),
        "public_servants": ("civil servants", "public sector staff"),
    },
}
ORG_NAMES = [
    f"{kind} {name}"
    for kind, name in (
        ("Associação", "Vizinhos Unidos"),
        ("Fundação", "Horizonte"),
        ("Operadora", "Rede Norte"),
        ("Câmara Municipal de", "Vale Verde"),
        ("Cooperativa", "Terra Viva"),
        ("Escola", "Digital Sul"),
        ("Instituto", "Saber Mais"),
        ("Telecom", "Atlântico"),
        ("Clube", "Tech Solidário"),
        ("Associação", "Mãos Dadas"),
        ("Fundação", "Luz do Dia"),
        ("Empresa", "Nuvem Lusa"),
        ("Rede", "Cuidar Juntos"),
        ("Universidade", "do Centro"),
        ("Agência", "Serviços Públicos"),
        ("Grupo", "Media Aberta"),
        ("Associação", "Idade Maior"),
        ("Movimento", "Ligar Portugal"),
        ("Banco", "Alimentar Local"),
        ("Ordem", "dos Psicólogos Regionais"),
    )
]


def areas_reference() -> tuple[dict[str, str], dict[str, list[str]]]:
    """District code -> name, district code -> municipality codes (committed reference)."""
    from geo.areas import reference_areas

    names: dict[str, str] = {}
    municipalities: dict[str, list[str]] = {}
    for area in reference_areas():
        names[area.code] = area.name
        if area.level.value == "district":
            municipalities.setdefault(area.code, [])
        elif area.level.value == "municipality" and area.parent_code:
            municipalities.setdefault(area.parent_code, []).append(area.code)
    return names, {d: sorted(m) for d, m in municipalities.items() if m}


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    description: str
    organisation: str
    category: str
    target_groups: tuple[str, ...]
    areas: tuple[str, ...]
    start: date
    end: date
    effort: str
    scene: int


def typo(rng: random.Random, text: str) -> str:
    words = text.split()
    if len(words) < 3:
        return text
    n = rng.randrange(len(words))
    word = words[n]
    if len(word) > 4:
        k = rng.randrange(1, len(word) - 1)
        words[n] = word[:k] + word[k + 1 :]
    return " ".join(words)


def describe(
    rng: random.Random, concept: Concept, lang: str, group: str, place: str, *, programme: str
) -> tuple[str, str]:
    """A title and description for ``concept``, worded afresh from its synonyms."""
    obj = rng.choice(concept.objects[lang])
    who = rng.choice(GROUP_WORDS[lang][group])
    if lang == "pt":
        title = rng.choice(
            (
                f"{obj.capitalize()} para {who}",
                f"{obj.capitalize()}: {who}",
                f"{programme}: {obj} para {who}",
                f"{obj.capitalize()} ({place})",
            )
        )
        first = (
            f"{rng.choice(('A nossa organização', 'O projeto', 'Esta iniciativa'))} "
            f"{rng.choice(PT_VERBS)} {obj} a {who} em {place}."
        )
        fillers = PT_FILLERS
    else:
        title = rng.choice(
            (
                f"{obj.capitalize()} for {who}",
                f"{obj.capitalize()}: {who}",
                f"{programme}: {obj} for {who}",
                f"{obj.capitalize()} ({place})",
            )
        )
        first = (
            f"{rng.choice(('Our organisation', 'The project', 'This initiative'))} "
            f"{rng.choice(EN_VERBS)} {obj} to {who} in {place}."
        )
        fillers = EN_FILLERS
    sentences = [first, *rng.sample(concept.details[lang], rng.randint(1, 3))]
    sentences += rng.sample(fillers, rng.randint(1, 2))
    rest = sentences[1:]
    rng.shuffle(rest)
    return title, " ".join([sentences[0], *rest])


def scenes(count: int, seed: int = SEED) -> Iterator[Row]:
    rng = random.Random(seed)
    names, municipalities = areas_reference()
    districts = sorted(municipalities)
    halves = [date(2020, 1, 1) + timedelta(days=182 * n) for n in range(HALVES)]
    # One effort per kind (concept), district and half-year; a national effort takes its
    # kind's whole half-year. Otherwise two scenes could be real, unlabelled overlaps.
    used: set[tuple[str, str, int]] = set()
    serial = 0

    def free(code: str, region: str, half: int) -> bool:
        if (code, "PT", half) in used or (code, region, half) in used:
            return False
        return region != "PT" or not any((code, d, half) in used for d in districts)

    def slot(code: str, national: bool) -> tuple[str, int] | None:
        for _attempt in range(200):
            region = "PT" if national else rng.choice(districts)
            half = rng.randrange(len(halves) - 1)
            if free(code, region, half):
                used.add((code, region, half))
                return rng.choice(districts) if national else region, half
        return None

    def next_id() -> str:
        nonlocal serial
        serial += 1
        return f"R{serial:05d}"

    for scene in range(count):
        concept = rng.choice(CONCEPTS)
        lang = "pt" if rng.random() < 0.6 else "en"
        group = rng.choice(concept.groups)
        org = rng.choice(ORG_NAMES)
        kinds = rng.sample(
            [
                "reworded",
                "resubmitted",
                "regional_copy",
                "same_place_other_effort",
                "same_partner_other_effort",
                "same_kind_elsewhere",
            ],
            rng.randint(1, 3),
        )
        national = rng.random() < 0.15
        picked = slot(concept.code, national or "regional_copy" in kinds)
        if picked is None:
            continue
        district, half = picked
        if national:
            areas: tuple[str, ...] = ("PT",)
            place = "todo o país" if lang == "pt" else "the whole country"
        elif rng.random() < 0.5:
            areas = (district,)
            place = names[district]
        else:
            chosen = rng.sample(
                municipalities[district], min(len(municipalities[district]), rng.randint(1, 4))
            )
            areas = tuple(sorted(chosen))
            place = ", ".join(names[m] for m in chosen)
        start = halves[half] + timedelta(days=rng.randrange(0, 60))
        end = start + timedelta(days=rng.randrange(60, 120))
        programme = "Programa " + rng.choice(
            ("Aurora", "Ponte", "Elo", "Farol", "Raiz", "Vento", "Ágora")
        )
        title, description = describe(rng, concept, lang, group, place, programme=programme)
        effort = f"E{scene:04d}"
        base = Row(
            next_id(),
            title,
            description,
            org,
            concept.category,
            (group,),
            areas,
            start,
            end,
            effort,
            scene,
        )
        yield base
        for kind in kinds:
            if kind == "reworded":
                other_org = rng.choice([o for o in ORG_NAMES if o != org])
                sub = (
                    areas
                    if len(areas) == 1 or rng.random() < 0.5
                    else areas[: max(1, len(areas) - 1)]
                )
                t, d = describe(rng, concept, lang, group, place, programme=programme)
                shift = timedelta(days=rng.randrange(-20, 21))
                yield replace(
                    base,
                    id=next_id(),
                    title=t,
                    description=d,
                    organisation=other_org,
                    areas=sub,
                    start=start + shift,
                    end=end + shift,
                )
            elif kind == "resubmitted":
                d = typo(rng, base.description)
                if rng.random() < 0.5:
                    d = " ".join(d.split(". ")[:-1]) or d
                yield replace(base, id=next_id(), title=typo(rng, base.title), description=d)
            elif kind == "regional_copy":
                # Copied and adapted: the other place, perhaps a sentence changed.
                if national:
                    copy_areas: tuple[str, ...] = (district,)
                    copy_place = names[district]
                else:
                    copy_areas = ("PT",)
                    copy_place = "todo o país" if lang == "pt" else "the whole country"
                t, d = (
                    base.title.replace(place, copy_place),
                    base.description.replace(place, copy_place),
                )
                if rng.random() < 0.5:
                    t2, d2 = describe(rng, concept, lang, group, copy_place, programme=programme)
                    sentences = d.split(". ")
                    sentences[-1] = d2.split(". ")[-1]
                    d = ". ".join(sentences)
                    if rng.random() < 0.5:
                        t = t2
                yield replace(
                    base,
                    id=next_id(),
                    title=t,
                    description=d,
                    areas=copy_areas,
                    organisation=rng.choice(ORG_NAMES),
                )
            elif kind in {"same_place_other_effort", "same_partner_other_effort"}:
                others = [c for c in CONCEPTS if c.category == concept.category and c != concept]
                if not others:
                    continue
                other = rng.choice(others)
                region = "PT" if national else district
                if not free(other.code, region, half):
                    continue
                used.add((other.code, region, half))
                other_group = group if group in other.groups else rng.choice(other.groups)
                t, d = describe(rng, other, lang, other_group, place, programme=programme)
                other_org = org if kind == "same_partner_other_effort" else rng.choice(ORG_NAMES)
                yield Row(
                    next_id(),
                    t,
                    d,
                    other_org,
                    other.category,
                    (other_group,),
                    areas,
                    start,
                    end,
                    f"{effort}-{kind}",
                    scene,
                )
            else:  # same_kind_elsewhere: same kind of effort, another district and period
                other_slot = slot(concept.code, False)
                if national or other_slot is None or other_slot[0] == district:
                    continue
                other_district, other_half = other_slot
                other_place = names[other_district]
                t, d = describe(rng, concept, lang, group, other_place, programme=programme)
                other_start = halves[other_half] + timedelta(days=rng.randrange(0, 60))
                yield Row(
                    next_id(),
                    t,
                    d,
                    rng.choice(ORG_NAMES),
                    concept.category,
                    (group,),
                    (other_district,),
                    other_start,
                    other_start + (end - start),
                    f"{effort}-{kind}",
                    scene,
                )


def write(rows: list[Row], directory: Path = OUT) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    records = directory / "overlap_labelled.csv"
    with records.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "id",
                "title",
                "description",
                "organisation",
                "category",
                "target_groups",
                "areas",
                "start_date",
                "end_date",
                "effort",
                "scene",
            ]
        )
        for r in rows:
            out.writerow(
                [
                    r.id,
                    r.title,
                    r.description,
                    r.organisation,
                    r.category,
                    ";".join(r.target_groups),
                    ";".join(r.areas),
                    r.start.isoformat(),
                    r.end.isoformat(),
                    r.effort,
                    r.scene,
                ]
            )
    pairs = directory / "overlap_pairs.csv"
    by_scene: dict[int, list[Row]] = {}
    for r in rows:
        by_scene.setdefault(r.scene, []).append(r)
    with pairs.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["id_a", "id_b", "label", "kind"])
        for members in by_scene.values():
            for n, a in enumerate(members):
                for b in members[n + 1 :]:
                    if a.effort == b.effort:
                        out.writerow([a.id, b.id, 1, "same_effort"])
                    elif "-" in b.effort and b.effort.startswith(a.effort):
                        out.writerow([a.id, b.id, 0, b.effort.split("-", 1)[1]])
    return records, pairs


def main() -> None:
    rows = list(scenes(700))
    records, pairs = write(rows)
    print(f"{len(rows)} initiatives -> {records}; pairs -> {pairs}")


if __name__ == "__main__":
    main()
