// A small corpus of markdown notes on unrelated topics, so the offline (LSA) embedder
// has real co-occurrence structure to fit and searches have one obvious right answer.

export const TOPICS = {
  "baking/sourdough.md": `# Sourdough starter care

A sourdough starter is a living culture of wild yeast and lactic acid bacteria kept in a jar of flour and water. Feed it equal weights of flour and water every day when it lives on the counter, or once a week when it rests in the fridge. A healthy starter doubles within six hours of a feeding and smells pleasantly sour, like yoghurt.

If a grey liquid called hooch collects on top, the starter is hungry: pour it off and feed more often. Rye flour speeds fermentation because it carries more wild yeast and enzymes than white wheat flour.

Bake when the starter peaks. A spoonful of ripe starter floats in water because it is full of gas; a sunken spoonful means the dough will rise slowly and the loaf will be dense.`,

  "garden/composting.md": `# Hot composting

Hot composting turns kitchen scraps and garden waste into finished compost in six to eight weeks. The pile needs a balance of greens, which are rich in nitrogen, such as grass clippings and vegetable peelings, and browns, which are rich in carbon, such as dry leaves, straw and shredded cardboard.

Build the heap at least one cubic metre in size so it holds heat. Microbes raise the core temperature to sixty degrees Celsius within days, which kills weed seeds. Turn the pile with a fork every week to let oxygen in, and keep it as damp as a wrung-out sponge.

A heap that smells of ammonia has too many greens; add browns. A heap that stays cold is usually too dry or too small.`,

  "outdoors/beekeeping.md": `# Beekeeping for beginners

A honey bee colony lives in a hive of wooden frames on which the workers build wax comb. The queen lays up to two thousand eggs a day in spring, while worker bees gather nectar and pollen, feed the brood and guard the entrance.

Inspect the hive every week from spring to late summer. Look for eggs, which prove the queen is laying, and for swarm cells along the bottom of the frames. Use a smoker and move slowly: calm bees rarely sting.

Harvest honey only from the supers above the brood box, and leave the colony enough stores to survive the winter cluster.`,

  "cycling/chain-maintenance.md": `# Bicycle chain maintenance

A clean, lubricated chain shifts smoothly and makes the cassette and chainrings last longer. Wipe the chain with a rag after wet rides, and degrease it properly every few hundred kilometres.

Apply one drop of chain lube to each roller, spin the cranks backwards, then wipe off the excess so the outside of the chain stays dry and does not collect grit.

Measure chain stretch with a chain checker tool. Replace the chain when it reaches half a percent of wear, before the worn links damage the cassette sprockets.`,

  "astronomy/telescopes.md": `# Choosing a first telescope

Aperture, the diameter of the main lens or mirror, decides how much light a telescope gathers and how faint the galaxies and nebulae it can show. A six or eight inch Dobsonian reflector gives the most aperture for the money and is easy to set up.

Refractors use lenses, need no collimation and show sharp views of the Moon and planets, but large ones are expensive. Magnification matters far less than aperture: an eyepiece that gives too much magnification shows a dim, blurry image.

Let the telescope cool outside for half an hour before observing, and use a red torch so your eyes stay dark-adapted.`,

  "games/chess-openings.md": `# Chess opening principles

In the opening, control the centre squares with pawns and pieces, develop the knights and bishops before moving the queen, and castle early to bring the king to safety.

The Italian Game starts with e4 e5, knight f3 knight c6, bishop c4, aiming the bishop at the weak f7 square. The Sicilian Defence answers e4 with c5 and leads to sharp, unbalanced positions where Black fights for the centre from the side.

Avoid moving the same piece twice without a reason, and do not grab pawns if it leaves your development behind.`,

  "geology/volcanoes.md": `# How volcanoes erupt

Volcanoes erupt when molten rock called magma rises through the crust and gas dissolved in it escapes. Runny basaltic magma, as in Hawaii, lets gas out gently and produces lava flows. Sticky rhyolitic magma traps gas until it explodes in ash columns and pyroclastic flows.

Stratovolcanoes such as Mount Fuji are built from layers of lava and ash. Shield volcanoes are broad and gentle because fluid lava travels far before it cools.

Seismometers, gas sensors and satellite measurements of ground swelling help volcanologists warn of eruptions days or weeks in advance.`,

  "kitchen/coffee-brewing.md": `# Brewing pour-over coffee

Pour-over coffee depends on grind size, water temperature and the ratio of coffee to water. Start with fifteen grams of medium-fine ground beans for two hundred and fifty grams of water just off the boil, around ninety-four degrees Celsius.

Bloom the grounds with twice their weight of water and wait thirty seconds so trapped carbon dioxide escapes. Then pour in slow spirals, keeping the bed of coffee evenly wet.

A sour, thin cup is under-extracted: grind finer. A bitter, harsh cup is over-extracted: grind coarser or pour faster.`,

  "crafts/knitting.md": `# Learning to knit

Knitting builds fabric from loops of yarn held on two needles. Every pattern is made from two stitches: the knit stitch and the purl stitch. Knitting every row gives garter stitch; alternating knit rows and purl rows gives smooth stockinette.

Choose a smooth, light-coloured wool yarn and needles of the size printed on the yarn label, so you can see each stitch clearly. Cast on twenty stitches and practise until your tension is even.

Knit a gauge swatch before any sweater: counting stitches per ten centimetres tells you whether the garment will fit.`,

  "history/lighthouses.md": `# Lighthouse keepers

Before automation, lighthouse keepers lived at remote stations on rocks and headlands, climbing the tower every evening to light the lamp. They trimmed the wick, polished the Fresnel lens and wound the clockwork that turned it through the night.

The Fresnel lens, invented in eighteen twenty two, used rings of prisms to bend light into a beam visible more than twenty nautical miles out at sea. Each lighthouse flashed its own pattern so sailors could identify it.

Electric lamps and automatic timers replaced the keepers during the twentieth century.`,

  "nature/birdwatching.md": `# Birdwatching basics

Good binoculars are the birdwatcher's main tool: eight by forty two models balance magnification, brightness and a steady image. Learn the common birds of your garden first, then visit wetlands and woodlands at dawn, when birds sing most.

Identify birds by size, shape, plumage, behaviour and song. A field guide or a song recognition app helps, and keeping a notebook of sightings builds the habit of careful observation.`,

  "notes/ferry-timetable.md": `# Island ferry timetable

The island ferry leaves the harbour at eight in the morning and returns at five in the evening. Tickets are sold at the harbour kiosk.

In winter storms the ferry crossing may be cancelled; check the harbour noticeboard.`,
} as const satisfies Record<string, string>;

export type TopicFile = keyof typeof TOPICS;

/** The small file tests change: few chunks, so changing it does not trigger a refit. */
export const SMALL_FILE: TopicFile = "notes/ferry-timetable.md";

// Two pages and an all-in-one page repeating both: exact duplicate chunks.
const KILN =
  "# Kiln firing\n\nThe kiln reaches cone six after nine hours of slow firing, and the glaze matures while it cools overnight. " +
  "Open the spy hole only once the pyrometer reads below two hundred degrees, or the pots craze.\n";
const LOOM =
  "# Loom warping\n\nWarp the loom from front to back, winding every thread under even tension so the cloth weaves flat. " +
  "Tie the warp on in bundles of eight and comb out crossed threads before the first pick.\n";
const INTRO =
  "Every page of the studio handbook on one page, for printing. The pages below are copies of the separate pages, " +
  "kept in step with them; read the separate pages for the latest wording and the pictures that go with them.";
/** An all-in-one page that repeats both pages a heading level down, wrapped differently: the same text once whitespace is collapsed. */
const ALL = `<html><body><h1>Studio handbook</h1><p>${INTRO}</p>
  <h2>Kiln firing</h2><p>The kiln reaches cone six after nine hours of slow firing,
    and the glaze matures while it cools overnight. Open the spy hole only once the pyrometer reads below two
    hundred degrees, or the pots craze.</p>
  <h2>Loom warping</h2><p>Warp the loom from front to back, winding every thread under even tension so the cloth weaves flat.
    Tie the warp on in bundles of eight and comb out crossed threads before the first pick.</p></body></html>`;

export const HANDBOOK = { "studio/kiln.md": KILN, "studio/loom.md": LOOM, "studio/all.html": ALL };
