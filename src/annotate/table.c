/* The annotators in the order they run. Adding one is a file and a row. */
#include "annotate/annotate.h"

void annotate_all(map_builder *b)
{
	ann_system(b);
	ann_images(b);
	ann_target_modules(b);
	ann_loader(b);
	ann_manual(b);
	ann_heaps(b);
	ann_windows(b);
	ann_threads(b);
	ann_sysdata(b);
}
