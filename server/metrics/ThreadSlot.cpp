//
// ThreadSlot.cpp
//
// Layer: metrics
//

#include "server/metrics/ThreadSlot.h"

namespace imgate {
namespace metrics {

namespace {

thread_local std::size_t currentRow = ThreadSlot::ROWS - 1;

} // namespace


void ThreadSlot::assign(std::size_t loopIndex)
{
	currentRow = loopIndex < ROWS - 1 ? loopIndex : ROWS - 1;
}


std::size_t ThreadSlot::row()
{
	return currentRow;
}

} } // namespace imgate::metrics
