/* demo_vocab.h - word lists of the demo generator (private to demo.c).
 *
 * Every list holds en/zh pairs at the same index, and the generator draws
 * indices, never words, so an en catalog and a zh catalog made with the same
 * seed are translations of each other.  Features deliberately overlap across
 * categories ("waterproof", "USB-C", "insulated", "lightweight") and nouns
 * have synonyms, so that exact word overlap is not enough to find
 * substitutes and plain text similarity sometimes confuses categories.
 */
#ifndef EMBEDLAB_DEMO_VOCAB_H
#define EMBEDLAB_DEMO_VOCAB_H

typedef struct demo_word { const char *en, *zh; } demo_word;

#define DV_END { 0, 0 }

typedef struct demo_cat {
    demo_word name;           /* category label as stored */
    int need;                 /* index into demo_needs; order within a need = list order */
    int has_color;
    int price_lo, price_hi;   /* whole currency units */
    const demo_word *nouns;   /* synonyms, DV_END-terminated; [0] is canonical */
    const demo_word *feats;   /* at least 6 */
    const demo_word *specs;   /* sizes, capacities, pack counts */
} demo_cat;

typedef struct demo_need {
    const char *key;
    double weight;            /* how often shoppers come with this need */
    demo_word context;        /* sentence some descriptions carry */
    const char *brands[4];    /* the need's own brands (user brand slot 0..3) */
} demo_need;

/* ---- needs ------------------------------------------------------------ */
static const demo_need demo_needs[] = {
    { "mobile", 0.24, { "Stay connected on the go", "随时随地保持连接" },
      { "Lumina", "Voltra", "Nexon", "Orbix" } },
    { "computing", 0.16, { "Made for work and study", "办公学习好帮手" },
      { "Corelli", "Keystone", "Datavo", "Pixelway" } },
    { "coffee", 0.15, { "For the perfect morning cup", "享受完美的早晨咖啡" },
      { "Brewster", "Crema", "Kaffa", "Morningside" } },
    { "running", 0.14, { "Ready for your next run", "为下一次跑步做好准备" },
      { "Stride", "Pacer", "Aerofit", "Trailborn" } },
    { "camping", 0.11, { "Built for the great outdoors", "户外露营必备" },
      { "Summit", "Pinecrest", "Northfold", "Campa" } },
    { "tablet", 0.10, { "Create, draw and watch anywhere", "随时随地创作与观影" },
      { "Lumina", "Nexon", "Inkwell", "Tabula" } },
    { "wearable", 0.10, { "Track your fitness every day", "每天记录你的运动与健康" },
      { "Lumina", "Voltra", "Pulse", "Fitora" } },
};
#define DEMO_N_NEEDS ((int)(sizeof demo_needs / sizeof demo_needs[0]))

/* House brands sell in every category (and are cheaper). */
static const char *const demo_house_brands[] = { "Basix", "Evergood", "Urbano" };
#define DEMO_N_HOUSE 3

static const demo_word demo_colors[] = {
    { "black", "黑色" }, { "white", "白色" }, { "silver", "银色" }, { "blue", "蓝色" },
    { "red", "红色" }, { "green", "绿色" }, { "gray", "灰色" }, { "pink", "粉色" },
    { "gold", "金色" }, { "navy", "藏青色" },
};
#define DEMO_N_COLORS 10

/* Generic marketing lines shared by every category. */
static const demo_word demo_marketing[] = {
    { "Premium quality at a fair price", "品质优良 价格实惠" },
    { "A best seller loved by thousands of customers", "热销爆款 好评如潮" },
    { "Perfect as a gift", "送礼佳品" },
    { "Built to last for everyday use", "经久耐用 适合日常使用" },
    { "Free returns within 30 days", "30天无忧退换" },
    { "Designed for comfort and style", "舒适与时尚兼具" },
    { "Official warranty included", "官方正品 全国联保" },
    { "New and improved design", "全新升级设计" },
};
#define DEMO_N_MARKETING 8

/* ---- mobile ------------------------------------------------------------- */
static const demo_word n_phone[] = {
    { "smartphone", "智能手机" }, { "mobile phone", "手机" }, { "cell phone", "移动电话" },
    { "phone", "5G手机" }, DV_END };
static const demo_word f_phone[] = {
    { "5G", "5G" }, { "triple camera", "三摄系统" }, { "OLED display", "OLED屏幕" },
    { "fast charging", "快充" }, { "dual SIM", "双卡双待" }, { "face unlock", "面部解锁" },
    { "USB-C", "USB-C接口" }, { "long battery life", "超长续航" },
    { "120Hz refresh rate", "120Hz高刷新率" }, DV_END };
static const demo_word s_phone[] = {
    { "64GB", "64GB存储" }, { "128GB", "128GB存储" }, { "256GB", "256GB存储" },
    { "512GB", "512GB存储" }, DV_END };

static const demo_word n_case[] = {
    { "phone case", "手机壳" }, { "phone cover", "手机保护套" }, { "protective case", "防摔壳" },
    { "bumper case", "保护壳" }, DV_END };
static const demo_word f_case[] = {
    { "shockproof", "防摔" }, { "slim fit", "超薄贴合" }, { "raised edges", "边框加高" },
    { "magnetic ring", "支持磁吸" }, { "transparent back", "透明背板" },
    { "silicone", "硅胶材质" }, { "leather", "真皮材质" }, { "waterproof", "防水" },
    { "kickstand", "带支架" }, DV_END };
static const demo_word s_case[] = {
    { "for 6.1-inch phones", "适配6.1英寸手机" }, { "for 6.4-inch phones", "适配6.4英寸手机" },
    { "for 6.7-inch phones", "适配6.7英寸手机" }, DV_END };

static const demo_word n_charger[] = {
    { "charger", "充电器" }, { "charging adapter", "充电头" }, { "power adapter", "电源适配器" },
    { "wall charger", "快充插头" }, DV_END };
static const demo_word f_charger[] = {
    { "fast charging", "快充" }, { "USB-C", "USB-C接口" }, { "wireless", "无线" },
    { "GaN technology", "氮化镓技术" }, { "dual port", "双口输出" },
    { "foldable plug", "折叠插脚" }, { "overheat protection", "过热保护" },
    { "compact", "小巧" }, DV_END };
static const demo_word s_charger[] = {
    { "20W", "20W功率" }, { "30W", "30W功率" }, { "65W", "65W功率" }, { "100W", "100W功率" },
    DV_END };

static const demo_word n_protector[] = {
    { "screen protector", "钢化膜" }, { "tempered glass", "屏幕保护膜" },
    { "screen film", "手机贴膜" }, { "glass protector", "玻璃膜" }, DV_END };
static const demo_word f_protector[] = {
    { "9H hardness", "9H硬度" }, { "anti-glare", "防眩光" }, { "privacy filter", "防窥" },
    { "bubble-free install", "无气泡安装" }, { "full coverage", "全屏覆盖" },
    { "case friendly", "兼容手机壳" }, { "anti-fingerprint", "防指纹" }, DV_END };
static const demo_word s_protector[] = {
    { "single", "单片装" }, { "2-pack", "2片装" }, { "3-pack", "3片装" }, DV_END };

/* ---- computing ---------------------------------------------------------- */
static const demo_word n_laptop[] = {
    { "laptop", "笔记本电脑" }, { "notebook computer", "笔记本" }, { "notebook", "轻薄本" },
    { "ultrabook", "手提电脑" }, DV_END };
static const demo_word f_laptop[] = {
    { "8-core processor", "8核处理器" }, { "16GB RAM", "16GB内存" },
    { "backlit keyboard", "背光键盘" }, { "USB-C", "USB-C接口" },
    { "long battery life", "超长续航" }, { "lightweight", "轻薄" },
    { "fingerprint reader", "指纹识别" }, { "2K screen", "2K屏幕" }, { "Wi-Fi 6", "Wi-Fi 6" },
    DV_END };
/* The inch mark is a real '"' so catalog.csv exercises RFC 4180 quote doubling. */
static const demo_word s_laptop[] = {
    { "13.3\" display", "13.3英寸" }, { "14\" display", "14英寸" },
    { "15.6\" display", "15.6英寸" }, { "16\" display", "16英寸" }, DV_END };

static const demo_word n_mouse[] = {
    { "mouse", "鼠标" }, { "computer mouse", "电脑鼠标" }, { "optical mouse", "光电鼠标" },
    DV_END };
static const demo_word f_mouse[] = {
    { "wireless", "无线" }, { "Bluetooth", "蓝牙" }, { "ergonomic", "人体工学" },
    { "silent clicks", "静音按键" }, { "rechargeable", "可充电" },
    { "adjustable DPI", "DPI可调" }, { "USB receiver", "USB接收器" }, DV_END };
static const demo_word s_mouse[] = {
    { "800 DPI", "800 DPI" }, { "1600 DPI", "1600 DPI" }, { "4000 DPI", "4000 DPI" }, DV_END };

static const demo_word n_bag[] = {
    { "laptop bag", "电脑包" }, { "laptop backpack", "双肩电脑背包" },
    { "notebook sleeve", "电脑内胆包" }, { "computer bag", "笔记本电脑包" }, DV_END };
static const demo_word f_bag[] = {
    { "water-resistant", "防泼水" }, { "padded compartment", "加厚防震隔层" },
    { "USB charging port", "USB充电口" }, { "anti-theft zipper", "防盗拉链" },
    { "lightweight", "轻量" }, { "multiple pockets", "多口袋设计" },
    { "adjustable shoulder strap", "可调肩带" }, DV_END };
static const demo_word s_bag[] = {
    { "fits 13-inch laptops", "适用13英寸笔记本" }, { "fits 15.6-inch laptops", "适用15.6英寸笔记本" },
    { "fits 17-inch laptops", "适用17英寸笔记本" }, DV_END };

/* ---- coffee ------------------------------------------------------------- */
static const demo_word n_coffeemaker[] = {
    { "coffee maker", "咖啡机" }, { "coffee machine", "咖啡壶" },
    { "espresso machine", "意式咖啡机" }, { "drip brewer", "滴滤咖啡机" }, DV_END };
static const demo_word f_coffeemaker[] = {
    { "programmable timer", "定时预约" }, { "milk frother", "奶泡功能" },
    { "15-bar pump", "15巴压力泵" }, { "keep-warm plate", "保温底盘" },
    { "reusable filter", "可重复使用滤网" }, { "one-touch brewing", "一键冲煮" },
    { "auto shut-off", "自动断电" }, { "stainless steel", "不锈钢" }, DV_END };
static const demo_word s_coffeemaker[] = {
    { "1.2 L", "1.2升" }, { "1.5 L", "1.5升" }, { "12-cup", "12杯容量" },
    { "single-serve", "单杯" }, DV_END };

static const demo_word n_beans[] = {
    { "coffee beans", "咖啡豆" }, { "whole bean coffee", "烘焙咖啡豆" },
    { "roasted coffee", "精品咖啡" }, { "ground coffee", "咖啡粉" }, DV_END };
static const demo_word f_beans[] = {
    { "single origin", "单一产地" }, { "dark roast", "深度烘焙" }, { "medium roast", "中度烘焙" },
    { "light roast", "浅度烘焙" }, { "100% arabica", "100%阿拉比卡" },
    { "fair trade", "公平贸易" }, { "organic", "有机" }, { "chocolate notes", "巧克力风味" },
    { "fruity notes", "果香风味" }, DV_END };
static const demo_word s_beans[] = {
    { "250 g", "250克" }, { "500 g", "500克" }, { "1 kg", "1公斤" }, DV_END };

static const demo_word n_mug[] = {
    { "mug", "马克杯" }, { "coffee mug", "咖啡杯" }, { "cup", "杯子" },
    { "travel mug", "随行杯" }, DV_END };
static const demo_word f_mug[] = {
    { "ceramic", "陶瓷" }, { "double-walled", "双层隔热" }, { "stainless steel", "不锈钢" },
    { "dishwasher safe", "可洗碗机清洗" }, { "leak-proof lid", "防漏杯盖" },
    { "microwave safe", "可微波炉加热" }, { "insulated", "保温" }, DV_END };
static const demo_word s_mug[] = {
    { "350 ml", "350毫升" }, { "450 ml", "450毫升" }, { "2-pack", "2只装" }, DV_END };

/* ---- running ------------------------------------------------------------ */
static const demo_word n_shoes[] = {
    { "running shoes", "跑步鞋" }, { "running sneakers", "跑鞋" }, { "trainers", "运动鞋" },
    { "jogging shoes", "慢跑鞋" }, DV_END };
static const demo_word f_shoes[] = {
    { "breathable mesh", "透气网面" }, { "cushioned sole", "缓震鞋底" },
    { "lightweight", "轻量" }, { "non-slip", "防滑" }, { "waterproof", "防水" },
    { "carbon plate", "碳板" }, { "reflective details", "反光设计" }, DV_END };
static const demo_word s_shoes[] = {
    { "EU 38", "38码" }, { "EU 40", "40码" }, { "EU 42", "42码" }, { "EU 44", "44码" }, DV_END };

static const demo_word n_socks[] = {
    { "running socks", "跑步袜" }, { "sports socks", "运动袜" },
    { "athletic socks", "功能袜" }, { "ankle socks", "短袜" }, DV_END };
static const demo_word f_socks[] = {
    { "moisture-wicking", "吸湿排汗" }, { "cushioned", "加厚缓震" }, { "breathable", "透气" },
    { "anti-blister", "防磨脚" }, { "merino wool", "美利奴羊毛" }, { "compression", "压缩" },
    DV_END };
static const demo_word s_socks[] = {
    { "1 pair", "1双" }, { "3 pairs", "3双装" }, { "6 pairs", "6双装" }, DV_END };

static const demo_word n_bottle[] = {
    { "water bottle", "运动水壶" }, { "sports bottle", "水杯" }, { "drinking bottle", "水瓶" },
    { "hydration flask", "保温水壶" }, DV_END };
static const demo_word f_bottle[] = {
    { "BPA-free", "不含双酚A" }, { "leak-proof lid", "防漏杯盖" }, { "insulated", "保温" },
    { "stainless steel", "不锈钢" }, { "lightweight", "轻量" }, { "time markers", "时间刻度" },
    { "straw lid", "吸管盖" }, DV_END };
static const demo_word s_bottle[] = {
    { "500 ml", "500毫升" }, { "750 ml", "750毫升" }, { "1 L", "1升" }, DV_END };

/* ---- camping ------------------------------------------------------------ */
static const demo_word n_tent[] = {
    { "tent", "帐篷" }, { "camping tent", "露营帐篷" }, { "dome tent", "户外帐篷" },
    { "backpacking tent", "徒步帐篷" }, DV_END };
static const demo_word f_tent[] = {
    { "waterproof", "防水" }, { "easy setup", "快速搭建" }, { "double layer", "双层" },
    { "lightweight", "轻量" }, { "UV protection", "防紫外线" }, { "mesh windows", "网纱窗" },
    { "aluminium poles", "铝合金支架" }, DV_END };
static const demo_word s_tent[] = {
    { "1-person", "单人" }, { "2-person", "双人" }, { "4-person", "4人" }, { "6-person", "6人" },
    DV_END };

static const demo_word n_sleepbag[] = {
    { "sleeping bag", "睡袋" }, { "mummy bag", "木乃伊睡袋" }, { "camping quilt", "露营睡袋" },
    DV_END };
static const demo_word f_sleepbag[] = {
    { "down filling", "羽绒填充" }, { "synthetic insulation", "化纤保暖棉" },
    { "compression sack", "附压缩袋" }, { "water-resistant", "防泼水" },
    { "lightweight", "轻量" }, { "machine washable", "可机洗" }, DV_END };
static const demo_word s_sleepbag[] = {
    { "rated to 10°C", "舒适温度10°C" }, { "rated to 0°C", "舒适温度0°C" },
    { "rated to -10°C", "舒适温度-10°C" }, DV_END };

static const demo_word n_headlamp[] = {
    { "headlamp", "头灯" }, { "head torch", "LED头灯" }, { "LED headlight", "户外头灯" },
    DV_END };
static const demo_word f_headlamp[] = {
    { "rechargeable", "可充电" }, { "USB-C", "USB-C接口" }, { "waterproof", "防水" },
    { "red light mode", "红光模式" }, { "motion sensor", "感应开关" },
    { "lightweight", "轻量" }, { "adjustable strap", "可调头带" }, DV_END };
static const demo_word s_headlamp[] = {
    { "300 lumens", "300流明" }, { "600 lumens", "600流明" }, { "1000 lumens", "1000流明" },
    DV_END };

/* ---- tablet ------------------------------------------------------------- */
static const demo_word n_tablet[] = {
    { "tablet", "平板电脑" }, { "tablet computer", "平板" }, { "tablet PC", "学习平板" },
    DV_END };
static const demo_word f_tablet[] = {
    { "8-core processor", "8核处理器" }, { "2K screen", "2K屏幕" },
    { "stylus support", "支持手写笔" }, { "quad speakers", "四扬声器" }, { "Wi-Fi 6", "Wi-Fi 6" },
    { "long battery life", "超长续航" }, { "USB-C", "USB-C接口" }, { "face unlock", "面部解锁" },
    DV_END };
static const demo_word s_tablet[] = {
    { "8-inch", "8英寸" }, { "10-inch", "10英寸" }, { "11-inch", "11英寸" },
    { "12.4-inch", "12.4英寸" }, DV_END };

static const demo_word n_stylus[] = {
    { "stylus", "手写笔" }, { "stylus pen", "电容笔" }, { "digital pencil", "触控笔" },
    { "touch pen", "平板笔" }, DV_END };
static const demo_word f_stylus[] = {
    { "palm rejection", "防误触" }, { "tilt sensitivity", "倾斜感应" },
    { "magnetic attachment", "磁吸吸附" }, { "rechargeable", "可充电" },
    { "fine tip", "细笔尖" }, { "4096 pressure levels", "4096级压感" },
    { "wireless charging", "无线充电" }, DV_END };
static const demo_word s_stylus[] = {
    { "1.0 mm tip", "1.0毫米笔尖" }, { "1.5 mm tip", "1.5毫米笔尖" },
    { "with 2 spare tips", "附2个备用笔尖" }, DV_END };

/* ---- wearable ----------------------------------------------------------- */
static const demo_word n_watch[] = {
    { "smartwatch", "智能手表" }, { "smart watch", "运动手表" }, { "fitness watch", "GPS手表" },
    { "GPS watch", "智能腕表" }, DV_END };
static const demo_word f_watch[] = {
    { "health monitoring", "健康监测" }, { "heart rate tracking", "心率监测" },
    { "GPS", "GPS定位" }, { "waterproof", "防水" }, { "sleep tracking", "睡眠监测" },
    { "AMOLED display", "AMOLED屏幕" }, { "blood oxygen sensor", "血氧检测" },
    { "long battery life", "超长续航" }, DV_END };
static const demo_word s_watch[] = {
    { "41 mm", "41毫米表盘" }, { "45 mm", "45毫米表盘" }, { "46 mm", "46毫米表盘" }, DV_END };

static const demo_word n_earbuds[] = {
    { "earbuds", "无线蓝牙耳机" }, { "earphones", "蓝牙耳机" }, { "headphones", "耳机" },
    { "in-ear buds", "入耳式耳机" }, DV_END };
static const demo_word f_earbuds[] = {
    { "active noise cancelling", "主动降噪" }, { "Bluetooth 5.3", "蓝牙5.3" },
    { "wireless", "无线" }, { "transparency mode", "通透模式" },
    { "sweat resistant", "防汗" }, { "wireless charging case", "无线充电盒" },
    { "low latency", "低延迟" }, { "touch controls", "触控操作" }, DV_END };
static const demo_word s_earbuds[] = {
    { "24h battery", "续航24小时" }, { "30h battery", "续航30小时" },
    { "40h battery", "续航40小时" }, DV_END };

/* ---- the categories, need by need, in need order ------------------------ */
static const demo_cat demo_cats[] = {
    { { "smartphone", "手机" }, 0, 1, 199, 1199, n_phone, f_phone, s_phone },
    { { "phone case", "手机壳" }, 0, 1, 9, 49, n_case, f_case, s_case },
    { { "charger", "充电器" }, 0, 1, 12, 59, n_charger, f_charger, s_charger },
    { { "screen protector", "钢化膜" }, 0, 0, 6, 29, n_protector, f_protector, s_protector },
    { { "laptop", "笔记本电脑" }, 1, 1, 399, 2199, n_laptop, f_laptop, s_laptop },
    { { "mouse", "鼠标" }, 1, 1, 9, 89, n_mouse, f_mouse, s_mouse },
    { { "laptop bag", "电脑包" }, 1, 1, 19, 99, n_bag, f_bag, s_bag },
    { { "coffee maker", "咖啡机" }, 2, 1, 29, 499, n_coffeemaker, f_coffeemaker, s_coffeemaker },
    { { "coffee beans", "咖啡豆" }, 2, 0, 7, 39, n_beans, f_beans, s_beans },
    { { "mug", "马克杯" }, 2, 1, 6, 35, n_mug, f_mug, s_mug },
    { { "running shoes", "跑步鞋" }, 3, 1, 39, 199, n_shoes, f_shoes, s_shoes },
    { { "sports socks", "运动袜" }, 3, 1, 5, 29, n_socks, f_socks, s_socks },
    { { "water bottle", "运动水壶" }, 3, 1, 8, 45, n_bottle, f_bottle, s_bottle },
    { { "tent", "帐篷" }, 4, 1, 39, 399, n_tent, f_tent, s_tent },
    { { "sleeping bag", "睡袋" }, 4, 1, 25, 299, n_sleepbag, f_sleepbag, s_sleepbag },
    { { "headlamp", "头灯" }, 4, 1, 9, 69, n_headlamp, f_headlamp, s_headlamp },
    { { "tablet", "平板电脑" }, 5, 1, 129, 999, n_tablet, f_tablet, s_tablet },
    { { "stylus", "手写笔" }, 5, 1, 12, 129, n_stylus, f_stylus, s_stylus },
    { { "smartwatch", "智能手表" }, 6, 1, 49, 499, n_watch, f_watch, s_watch },
    { { "earbuds", "耳机" }, 6, 1, 19, 299, n_earbuds, f_earbuds, s_earbuds },
};
#define DEMO_N_CATS ((int)(sizeof demo_cats / sizeof demo_cats[0]))

#endif
