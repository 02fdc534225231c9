#include "weft/detail/model.hpp"

int main(int argc, char** argv) { return weft::model::run_cases(argc, argv); }
