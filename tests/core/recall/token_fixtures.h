/* Real sentences per script: each ml-dev language's first ten messages
 * (data/ml-dev/needles-dev.json, CC0) joined by " | ", with their o200k_base
 * token count. Written by tests/bench/tokens/fixtures.mjs (js-tiktoken, the
 * version tests/bench/tokens/package-lock.json pins), then clang-format; do not edit. */
#ifndef MP_TESTS_TOKEN_FIXTURES_H
#define MP_TESTS_TOKEN_FIXTURES_H

#include <stdint.h>

struct token_fixture {
    const char *lang, *text;
    uint32_t o200k; /* tokens of text */
};

static const struct token_fixture token_fixtures[] = {
    {"en",
     "New year, new client! Ridgeline Coffee wants a full rebrand: logo, bags, and a menu board "
     "for their two cafés. | Can you help me write a friendly kickoff email to Dana Whitfield? "
     "She's the art director at Ridgeline and my main contact there. | Biscuit got into the trash "
     "again last night and ate half a bagel. Beagles, honestly. | Took Biscuit to Hawthorne Animal "
     "Clinic for his booster shots today. The vet says he's about three pounds overweight, so "
     "fewer treats. | What's a good stretching routine after bouldering? My forearms are toast. | "
     "My sister Hannah just got engaged!! She's already asking me to design the invitations. | "
     "Rent went up $60 this year, so I need to be stricter with my budget. Can you help me set up "
     "a simple monthly spreadsheet? | Tried the new ramen place on Division with Priya, the spicy "
     "miso was incredible. | I keep procrastinating on my taxes as a freelancer. What forms do I "
     "need for quarterly estimated payments? | Biscuit needs more exercise apparently. Any ideas "
     "for rainy-day games for a beagle?",
     233},
    {"zh",
     "开学季地铁好挤，早上八点的2号线根本挤不上去。 | "
     "终于报了游泳课，教练姓蒋，每周二、四晚上七点，一共十节课1800块。 | "
     "橘子最近掉毛好厉害，沙发上全是橘色的毛。 | 帮我想想怎么跟领导说我想转去做后端架构？ | "
     "第一节游泳课光练憋气和漂浮了，呛了好几口水。 | "
     "陈姐说下周开始做会员系统重构，我负责积分模块。 | "
     "周末陪林悦去西溪湿地走了走，人不多，挺舒服的。 | "
     "爸妈问我中秋回不回成都，票太难抢了，估计回不去。 | "
     "帮我列一个会员积分规则的边界情况清单，比如退款以后积分怎么扣。 | "
     "小周请我喝了杯奶茶，说是谢谢我帮他查那个线上bug。",
     229},
    {"ja",
     "花粉がひどすぎて、今日は一日中くしゃみが止まらなかった。 | "
     "花粉症の薬、アレグラが全然効かないから、耳鼻科でビラノアに変えてもらった。 | "
     "今のアパート、更新料が高いし、そろそろ引っ越そうかな。 | "
     "不動産屋さんと内見3件。中崎町の部屋が一番日当たりがよかった。 | "
     "新しい部屋、北区の中崎町に決めた！家賃は管理費込みで8万2千円。 | "
     "陶芸教室の先生は山口さんっていう方で、もともと信楽で修業してたらしい。 | "
     "初めての陶芸、ろくろが思ったより難しくて、湯呑みがぐにゃぐにゃになった。 | "
     "決算期で毎日残業…。経理は3月が一番しんどい。 | "
     "引っ越しの見積もりって何社か比較したほうがいい？業者の選び方教えて。 | "
     "美咲と久しぶりに電話。6月に北海道行かない？って誘われた。",
     283},
    {"ko",
     "오늘 랩미팅에서 교수님이 실험 데이터 다시 뽑아오라고 하셨어. 멘붕. | XRD 장비 예약은 매주 "
     "목요일 오후 2시로 고정됐어. 다른 시간대는 박사님들이 다 잡아놨대. | 성호랑 같이 사는 원룸 "
     "월세가 55만 원인데, 반반 나눠서 내고 있어. | 지훈이 어머니랑 통화해서 과외비를 다음 달부터 "
     "한 달에 60만 원으로 올리기로 했어. | 지훈이 중간고사 수학 범위가 너무 넓어. 기출 문제 위주로 "
     "정리해 줄 수 있어? | 배드민턴 동호회 가입할까 고민 중. 운동을 너무 안 해서 몸이 망가지는 "
     "느낌이야. | 민재가 훈련소에서 편지를 보냈는데 글씨가 완전 삐뚤빼뚤 ㅋㅋ | 교수님이 12월 "
     "학회에 포스터 말고 구두 발표로 내보라고 하셨어. 떨린다. | 요즘 허리가 좀 뻐근해. 하루 종일 "
     "앉아 있어서 그런가. | 성호가 라면 끓여줬는데 계란을 세 개나 넣었어.",
     286},
    {"de",
     "Zeugniskonferenzen diese Woche, ich sitze jeden Tag bis sechs in der Schule. | Der "
     "Fliesenleger kommt am 10. März, dann ist unser Bad zwei Wochen lang gesperrt. Duschen wir "
     "halt solange im Fitnessstudio. | Der Beitrag für den Kleingartenverein liegt dieses Jahr bei "
     "280 Euro, zu zahlen bis Ende März. | Kannst du mir helfen, eine Stunde zur Weimarer Republik "
     "für die 10. Klasse zu planen? Ich will mal was mit Quellenarbeit machen. | Im Chor proben "
     "wir gerade das Brahms-Requiem. Die Fugen bringen mich um. | Jonas hat die Badfliesen "
     "ausgesucht, anthrazit und großformatig. Ich hätte ja was Helleres genommen. | Mein Rad ist "
     "schon wieder platt. Langsam überlege ich, mir was Neues zu kaufen. | Katrin war zum Kaffee "
     "da, sie will sich unbedingt einen Hund holen. | Was kann man im Februar im Garten eigentlich "
     "schon machen? Ich will dieses Jahr früher anfangen. | Seit Wochen müde und schlapp. Ich lass "
     "beim Hausarzt mal Blut abnehmen.",
     230},
    {"es",
     "Semana de locos en la clínica: tres gatos con cistitis y un perro que se tragó un calcetín. "
     "| La nueva auxiliar de la clínica se llama Rocío, viene de Huelva y tiene muchísima mano con "
     "los gatos. | Me he comprado zapatillas nuevas para preparar la media: las Novablast, talla "
     "39. Es como correr sobre nubes. | ¿Me haces un plan de entrenamiento de 12 semanas para una "
     "media maratón? Ahora corro unos 25 km a la semana. | Javi y yo vimos otro piso en Nervión, "
     "tres dormitorios, pero la cocina está fatal. | Lucía quiere apuntarse a natación porque su "
     "amiga Carmen va. Tengo que mirar horarios. | Mi madre lleva semanas quejándose de la "
     "rodilla. Por fin tiene cita con el traumatólogo. | Salida larga de 14 km por el río. Las "
     "piernas bien, los pulmones no tanto. | ¡Hemos hecho una oferta por el piso de Nervión! "
     "235.000, a ver qué dice el dueño. | Rocío ya se encarga ella sola de las vacunas, qué "
     "alivio.",
     236},
    {"fr",
     "Premier vrai jour de printemps, j'ai sorti le salon de jardin. Monique a déjà planté ses "
     "géraniums. | Le médecin m'a mis sous Crestor 5 mg pour le cholestérol. Prise de sang de "
     "contrôle dans trois mois. | Aux Restos du Cœur, je fais maintenant la distribution le mardi "
     "matin, avec Jacqueline et Bernard. | Gîte réservé en Bretagne, à Perros-Guirec, du 12 au 26 "
     "juillet. Claire et les enfants nous rejoignent la deuxième semaine. | Tu peux me proposer "
     "des menus pauvres en cholestérol mais qui restent gourmands ? Monique cuisine beaucoup au "
     "beurre. | Léo a perdu sa première dent. La petite souris a été généreuse, paraît-il. | "
     "Sortie avec le club de rando au mont Verdun, 14 km. Mes genoux ont tenu. | Ma vue baisse, je "
     "ne lis plus le journal sans loupe. Rendez-vous chez l'ophtalmo la semaine prochaine. | La "
     "voiture fait un bruit bizarre au démarrage. Il faudrait que je la montre au garage. | Claire "
     "nous a demandé de garder les enfants mercredi. Toujours avec plaisir.",
     243},
    {"ru",
     "Жара в Новосибирске под тридцать, а у нас на складе кондиционер сломался. | Купил новый "
     "спиннинг Shimano за 12 500, старый уже совсем разболтался. | Посчитал бюджет: платёж по "
     "ипотеке 38 400 в месяц, это почти треть моей зарплаты. | На Алтай едем 20 августа, "
     "забронировали базу «Кедровый берег» на 5 ночей. Света уже составляет список вещей. | Помоги "
     "составить список вещей для отдыха на Алтае с ребёнком? Едем на машине. | Петрович опять "
     "сорвал сроки по отгрузке в Омск, а отдуваться мне. | В выходные на даче: полил огурцы, "
     "подвязал помидоры, Алиса собирала малину. | Зуб ноет уже неделю. Придётся идти к "
     "стоматологу, а я их с детства боюсь. | Съездил на Обь с новым спиннингом, поймал пару "
     "окуньков. Для начала неплохо. | Алисе к школе нужно купить форму и рюкзак. Цены ужас.",
     251},
    {"ar",
     "بدأت أسبوعي في الصيدلية بجرد كامل للأدوية، تعبت من العدّ. | عيّنوا مديرًا جديدًا للصيدلية اسمه "
     "الدكتور فراس العلي، ويبدو شخصًا منظمًا جدًا. | تحدّد موعد زفاف أخي كريم: يوم 18 نيسان في قاعة "
     "ليالي عمّان. أمي طارت من الفرح. | أمي عندها موعد عند طبيب العيون يوم 3 شباط في مستشفى الأردن، "
     "ولازم أوصلها بنفسي. | يوسف يرفض النوم قبل الحادية عشرة، جرّبت كل شيء. هل عندك نصائح لطفل عمره "
     "خمس سنوات؟ | البرد شديد في عمّان هذا الأسبوع، والمدفأة لا تنطفئ. | ساعدني في كتابة رسالة "
     "تهنئة لكريم وخطيبته بمناسبة تحديد موعد الزفاف. | سامر بدأ يتمرّن في النادي ثلاث مرات في "
     "الأسبوع، وصار يراقب أكله. | صديقتي ريم اتصلت، قالت إن عندها خبرًا مهمًا وستخبرني عندما نلتقي. "
     "| السيارة تصدر صوتًا غريبًا عند الفرملة، يجب أن أعرضها على الميكانيكي.",
     254},
    {"hi",
     "आज बैंक में ऑडिट शुरू हुआ, पूरा दिन फ़ाइलें ढूँढने में निकल गया। | माँ की फ़ास्टिंग शुगर 168 आई है। डॉक्टर ने "
     "मेटफ़ॉर्मिन 500 अब दिन में दो बार कर दी है। | अन्या का एडमिशन टेस्ट 12 अक्टूबर को है, ऑर्किड इंटरनेशनल स्कूल, "
     "बानेर में। नेहा अभी से तैयारी करवा रही है। | माँ के लिए डायबिटीज़ वाला डाइट चार्ट बना दोगे? वो चावल "
     "बिलकुल नहीं छोड़ना चाहतीं। | रविवार को ऑफ़िस वालों के साथ क्रिकेट खेला, 12 रन बनाकर आउट हो गया। | पुणे में "
     "बारिश रुकने का नाम नहीं ले रही, रोज़ ट्रैफ़िक जाम। | नेहा कह रही है इस बार दिवाली की शॉपिंग जल्दी कर लेंगे, "
     "आख़िरी हफ़्ते में भीड़ बहुत होती है। | पापा का पासपोर्ट एक्सपायर हो गया है, रिन्यू करवाना पड़ेगा। अगले साल "
     "उन्हें चाचा के पास दुबई जाना है। | राकेश ने बताया कि ब्रांच में ट्रांसफ़र की लिस्ट आने वाली है। | छह साल के बच्चे "
     "के एडमिशन इंटरव्यू में क्या-क्या पूछते हैं? थोड़ा आइडिया दो।",
     285},
    {"pt",
     "Curitiba já tá naquele frio de maio, saí de casa com três blusas. | Reunião com a Dona "
     "Célia: ela quer piso de porcelanato amadeirado na sala toda e nos quartos, nada de carpete. "
     "| Fechei o financiamento do carro: 48 parcelas de R$ 1.120. Doeu, mas o Gol já não aguentava "
     "mais. | Me ajuda a montar uma lista de perguntas pra primeira visita técnica numa casa "
     "antiga em Santa Felicidade? | Ensaio da banda hoje. A gente tá sem baterista desde que o "
     "Dudu foi pra São Paulo. | A Paçoca derrubou um vaso da estante às 3 da manhã. Gata do caos. "
     "| O Rafael tá insistindo pra eu me mudar pro apê dele. Tô pensando seriamente. | Tô com "
     "enxaqueca quase toda semana, acho que é o estresse do escritório. | A casa da Dona Célia tem "
     "umas vigas de madeira lindas, quero deixar aparente. | Primeira vez indo de carro novo pro "
     "escritório, que diferença.",
     231},
    {"it",
     "Dopo sei anni da dipendente ho deciso: apro uno studio mio di fisioterapia. Paura ed "
     "entusiasmo in parti uguali. | Firmato il contratto per lo studio in via Nizza 118: 60 metri "
     "quadri, affitto 950 euro al mese. Si parte! | Ho comprato una Olympus OM-1 su Subito a 180 "
     "euro, con un 50 mm. Torno alla pellicola! | Mi aiuti a fare una lista delle cose da comprare "
     "per arredare uno studio di fisioterapia? Budget limitato. | Giulia dice che sono matto ad "
     "aprire adesso, ma poi mi ha abbracciato. | Calcetto del martedì: abbiamo perso 8 a 5, però "
     "io ho fatto due gol. | Marco e Chiara sono alla 38ª settimana, la bimba può arrivare da un "
     "momento all'altro. | Primo rullino nella Olympus, una Kodak Portra 400. Speriamo bene. | La "
     "nonna ha chiamato per sapere se scendo a Lecce per Natale. Ovviamente sì. | Come si apre una "
     "partita IVA da fisioterapista? Bisogna iscriversi all'albo e a cos'altro?",
     255},
    {"tr",
     "Dükkanda sayım yaptık, kurşun kalem stoku bitmek üzere. Sömestr tatilinden sonra herkes aynı "
     "anda gelmiş. | Yeni toptancıyla anlaştım: Bornova'daki Kırtasiye Dünyası, Mehmet Bey "
     "ilgileniyor. Fiyatları eskisinden %8 daha iyi. | Dükkanın kirası şu an 25.000 TL, mal sahibi "
     "nisanda artış yapacağını söyledi, bakalım ne kadar olacak. | Emre gece ikiye kadar soru "
     "çözüyor, sabah uyandırmak savaş gibi. | YKS'ye hazırlanan bir öğrenci için günlük çalışma "
     "programı hazırlar mısın? Sabah okul, akşam etüt var. | Ayşe yine sigarayı bırakmam için "
     "nutuk attı. Haklı tabii. | Pamuk bütün gece koltuğu tırmaladı, yeni kılıf lazım. | Annem "
     "köyden aradı, zeytinyağı gönderecekmiş, teneke teneke. | Mehmet Bey ilk siparişi iki günde "
     "getirdi, memnunum. | Akşam Ayşe'yle Karşıyaka çarşısında yürüdük, boyoz aldık.",
     260},
};

#endif
