/* Real chat text for test_terms's differential test: three messages and a
 * question in each of the 13 languages of the multilingual needles'
 * development set (needles-dev: en zh ja ko de es fr ru ar hi pt it tr). */
#ifndef MP_TESTS_TERMS_TEXTS_H
#define MP_TESTS_TERMS_TEXTS_H

static const char *const terms_texts[] = {
    "New year, new client! Ridgeline Coffee wants a full rebrand: logo, bags, and a menu board for "
    "their two cafés.",
    "The pen for my ancient Wacom finally died. Replacing just the pen costs almost as much as a "
    "new tablet.",
    "Filed my taxes early this year. Can't say it was fun.",
    "Which vet did I take Biscuit to for his shots back in January?",
    "开学季地铁好挤，早上八点的2号线根本挤不上去。",
    "体检报告出来了，尿酸偏高，480，医生让我少喝啤酒、少吃海鲜。",
    "橘子手术很顺利，回家后一直舔伤口，只好给它戴了伊丽莎白圈。",
    "国庆在黄山住的是哪家酒店？",
    "花粉がひどすぎて、今日は一日中くしゃみが止まらなかった。",
    "サカイから電話があって、向こうの都合で引っ越しが4月26日に変更になった。",
    "引っ越し前の最後の週末、冷蔵庫の中身を片付け中。",
    "今の部屋の家賃っていくらだっけ？",
    "오늘 랩미팅에서 교수님이 실험 데이터 다시 뽑아오라고 하셨어. 멘붕.",
    "교수님께 논문 초안을 11월 15일까지 드려야 해. 실험 결과 정리가 아직 반도 안 됐는데.",
    "정형외과 가봤는데 허리 디스크 초기래. 도수치료를 주 2회 받으라고 하더라.",
    "12월 학회는 어디서 발표했더라?",
    "Zeugniskonferenzen diese Woche, ich sitze jeden Tag bis sechs in der Schule.",
    "Unser Chorkonzert ist am 6. April um 17 Uhr in der Peterskirche. Karten kosten 15 Euro, "
    "Schüler zahlen die Hälfte.",
    "Hab mir das E-Bike gekauft: ein Cube Kathmandu für 3.299 Euro, läuft über Jobrad, also "
    "monatlich übers Gehalt.",
    "Von wann bis wann war die Klassenfahrt nach Prag?",
    "Semana de locos en la clínica: tres gatos con cistitis y un perro que se tragó un calcetín.",
    "El gato de la señora Marín, Tobías, tiene insuficiencia renal. Le he puesto dieta renal y "
    "revisión cada 15 días.",
    "La cena de Navidad de la clínica, genial. Rocío se arrancó a cantar por sevillanas.",
    "¿Cómo se llamaba la chica nueva que entró de auxiliar?",
    "Premier vrai jour de printemps, j'ai sorti le salon de jardin. Monique a déjà planté ses "
    "géraniums.",
    "Inès a commencé le violon au conservatoire du 5e. Elle répète dans sa chambre, les voisins de "
    "Claire apprécient moyennement.",
    "Opération faite ! Je vois les couleurs beaucoup plus vives, c'est fou.",
    "Dans quelle clinique je me suis fait opérer de l'œil ?",
    "Жара в Новосибирске под тридцать, а у нас на складе кондиционер сломался.",
    "В пятом классе у Алисы новая классная руководительница — Марина Викторовна, ведёт математику. "
    "Говорят, строгая.",
    "Петрович уходит на пенсию в декабре, на его место ставят Игоря из отдела закупок. Вот это и "
    "было «важное объявление».",
    "Как называлась база на Алтае, где мы жили?",
    "بدأت أسبوعي في الصيدلية بجرد كامل للأدوية، تعبت من العدّ.",
    "ريم حامل بتوأم! الولادة المتوقعة في شهر آب، وهي سعيدة وخائفة في الوقت نفسه.",
    "رمضان كريم! أول إفطار كان عند أمي، والمائدة ممتلئة.",
    "في أي يوم كان زفاف أخي كريم؟",
    "आज बैंक में ऑडिट शुरू हुआ, पूरा दिन फ़ाइलें ढूँढने में निकल गया।",
    "दिवाली के लिए नेहा ने लाल रंग की बनारसी साड़ी पसंद की है, 7,500 की। मैंने कहा ले लो।",
    "राकेश का ट्रांसफ़र नागपुर ब्रांच में हो गया। 15 तारीख़ तक जॉइन करना है।",
    "अन्या का टेस्ट कौन से स्कूल में हुआ था?",
    "Curitiba já tá naquele frio de maio, saí de casa com três blusas.",
    "A neurologista trocou o remédio da enxaqueca pra topiramato 25 mg à noite. Tem que subir a "
    "dose aos poucos.",
    "Peguei as melhores ondas da minha vida na Guarda. Tô queimada, mas feliz.",
    "Que piso a Dona Célia escolheu pra sala?",
    "Dopo sei anni da dipendente ho deciso: apro uno studio mio di fisioterapia. Paura ed "
    "entusiasmo in parti uguali.",
    "Inaugurazione dello studio fissata per il 13 gennaio! Voglio fare un aperitivo per pazienti e "
    "amici.",
    "Settimana bianca decisa: Sestriere, dal 15 al 22 febbraio, abbiamo prenotato l'hotel Principi "
    "di Piemonte.",
    "Quanto pago d'affitto per lo studio?",
    "Dükkanda sayım yaptık, kurşun kalem stoku bitmek üzere. Sömestr tatilinden sonra herkes aynı "
    "anda gelmiş.",
    "Mal sahibi kirayı nisandan itibaren 32.000 TL'ye çıkarıyor. Pazarlık ettim, olmadı.",
    "Annemin tansiyon ilacını değiştirdiler, artık Coversyl 5 mg kullanıyor, sabahları aç karnına.",
    "Emre'nin denemelerde hedefi kaç net?",
};

#endif
